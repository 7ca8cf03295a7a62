// The JSON Schema a class's nodes published for its attachments (GET /api/classes/{name}): the fields
// it describes, for the New task form, and a check of the subset pydantic emits (types, required,
// enum, bounds, lengths, pattern, items, anyOf, $ref), so the editor says what is wrong before it sends.
// The controller checks again with a full validator: its 422 is the last word.
import { api } from './api.js';

const MAX_ERRORS = 20;

export async function classSchema(className) {
  if (!className) return null;
  try { // the list, not /api/classes/{name}: a class no node runs is no error to log
    const found = (await api('api/classes')).find((item) => item.className === className);
    return found?.attachmentsSchema || null;
  } catch {
    return null; // no node runs it (yet), or an older controller: nothing to check here
  }
}

function deref(schema, root) {
  let current = schema || {};
  for (let depth = 0; current.$ref && depth < 20; depth += 1) {
    const parts = current.$ref.replace(/^#\//, '').split('/');
    current = parts.reduce((node, part) => (node ? node[part] : undefined), root) || {};
  }
  return current;
}

// A field's own schema: `anyOf` with null (an Optional field) is the other branch, nullable.
export function plain(schema, root) {
  const resolved = deref(schema, root);
  const options = resolved.anyOf || resolved.oneOf;
  if (Array.isArray(options)) {
    const others = options.filter((option) => deref(option, root).type !== 'null');
    if (others.length === 1) return { ...deref(others[0], root), nullable: others.length < options.length,
      default: resolved.default, description: resolved.description || deref(others[0], root).description,
      title: resolved.title || deref(others[0], root).title };
  }
  if (Array.isArray(resolved.allOf) && resolved.allOf.length === 1) {
    return { ...deref(resolved.allOf[0], root), ...resolved, allOf: undefined };
  }
  return resolved;
}

export function kindOf(field) {
  if (Array.isArray(field.enum)) return 'enum';
  if (['string', 'integer', 'number', 'boolean'].includes(field.type)) return field.type;
  return 'json';
}

// The top-level fields of an object schema, in its order.
export function fieldsOf(schema) {
  const root = schema || {};
  const top = deref(root, root);
  const required = new Set(top.required || []);
  return Object.entries(top.properties || {}).map(([name, raw]) => {
    const field = plain(raw, root);
    return { name, field, kind: kindOf(field), required: required.has(name), default: field.default,
      description: field.description || '', title: field.title || name };
  });
}

const TYPES = {
  null: (value) => value === null,
  boolean: (value) => typeof value === 'boolean',
  integer: (value) => Number.isInteger(value),
  number: (value) => typeof value === 'number' && Number.isFinite(value),
  string: (value) => typeof value === 'string',
  array: (value) => Array.isArray(value),
  object: (value) => value !== null && typeof value === 'object' && !Array.isArray(value),
};

function check(value, schema, root, path, errors) {
  if (errors.length >= MAX_ERRORS) return;
  const node = deref(schema, root);
  const fail = (message) => errors.push({ path: [...path], message });
  if (Array.isArray(node.anyOf) || Array.isArray(node.oneOf)) {
    const options = node.anyOf || node.oneOf;
    const results = options.map((option) => { const found = []; check(value, option, root, path, found); return found; });
    if (!results.some((found) => found.length === 0)) {
      const closest = results.reduce((best, found) => (found.length < best.length ? found : best));
      closest.slice(0, MAX_ERRORS - errors.length).forEach((error) => errors.push(error));
    }
    return;
  }
  for (const part of node.allOf || []) check(value, part, root, path, errors);
  if (node.type) {
    const types = Array.isArray(node.type) ? node.type : [node.type];
    if (!types.some((type) => TYPES[type]?.(value))) {
      fail(`${JSON.stringify(value)?.slice(0, 60)} is not of type ${types.map((type) => `'${type}'`).join(', ')}`);
      return;
    }
  }
  if (Array.isArray(node.enum) && !node.enum.some((item) => JSON.stringify(item) === JSON.stringify(value))) {
    fail(`${JSON.stringify(value)?.slice(0, 60)} is not one of ${JSON.stringify(node.enum).slice(0, 120)}`);
  }
  if ('const' in node && JSON.stringify(node.const) !== JSON.stringify(value)) fail(`must be ${JSON.stringify(node.const)}`);
  if (typeof value === 'number') {
    if (node.minimum !== undefined && value < node.minimum) fail(`${value} is less than the minimum of ${node.minimum}`);
    if (node.maximum !== undefined && value > node.maximum) fail(`${value} is more than the maximum of ${node.maximum}`);
    if (node.exclusiveMinimum !== undefined && value <= node.exclusiveMinimum) fail(`${value} must be more than ${node.exclusiveMinimum}`);
    if (node.exclusiveMaximum !== undefined && value >= node.exclusiveMaximum) fail(`${value} must be less than ${node.exclusiveMaximum}`);
  }
  if (typeof value === 'string') {
    if (node.minLength !== undefined && value.length < node.minLength) fail(`is shorter than ${node.minLength} characters`);
    if (node.maxLength !== undefined && value.length > node.maxLength) fail(`is longer than ${node.maxLength} characters`);
    if (node.pattern) {
      try { if (!new RegExp(node.pattern, 'u').test(value)) fail(`does not match ${node.pattern}`); } catch { /* the controller checks */ }
    }
  }
  if (Array.isArray(value)) {
    if (node.minItems !== undefined && value.length < node.minItems) fail(`has fewer than ${node.minItems} items`);
    if (node.maxItems !== undefined && value.length > node.maxItems) fail(`has more than ${node.maxItems} items`);
    if (node.items && typeof node.items === 'object') value.forEach((item, index) => check(item, node.items, root, [...path, index], errors));
  }
  if (TYPES.object(value)) {
    for (const name of node.required || []) if (!(name in value)) errors.push({ path: [...path, name], message: `'${name}' is a required property` });
    const properties = node.properties || {};
    for (const [name, item] of Object.entries(value)) {
      if (name in properties) check(item, properties[name], root, [...path, name], errors);
      else if (node.additionalProperties === false) fail(`additional property '${name}' is not allowed`);
      else if (node.additionalProperties && typeof node.additionalProperties === 'object') {
        check(item, node.additionalProperties, root, [...path, name], errors);
      }
    }
  }
}

// [{path, message}] of `value` against `schema` (at most 20); [] when it fits or there is no schema.
export function validate(value, schema) {
  if (!schema) return [];
  const errors = [];
  check(value, schema, schema, [], errors);
  return errors.slice(0, MAX_ERRORS);
}

export function describeErrors(errors) {
  return errors.map((error) => (error.path.length ? `attachments.${error.path.join('.')}: ${error.message}` : error.message));
}
