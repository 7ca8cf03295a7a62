// CPU and memory as the task page and the nodes view show them (figures from the node's heartbeats).
const MIB = 1024 * 1024;

export function mib(bytes) {
  return typeof bytes === 'number' ? `${(bytes / MIB).toFixed(1)} MiB` : '?';
}

// "CPU 97.0 % · RSS 212.4 MiB" (and "· 2 processes" for a tree); null when nothing was measured.
export function usageText(resources) {
  if (!resources || typeof resources !== 'object') return null;
  const text = `CPU ${Number(resources.cpuPercent).toFixed(1)} % · RSS ${mib(resources.rssBytes)}`;
  return resources.processes > 1 ? `${text} · ${resources.processes} processes` : text;
}

// A node's machine: "1234.0 MiB of 7890.0 MiB free".
export function machineText(resources) {
  if (!resources || !resources.memoryTotalBytes) return null;
  return `${mib(resources.memoryAvailableBytes)} of ${mib(resources.memoryTotalBytes)} free`;
}

export function limitText(task) {
  return task.memoryLimitMb ? `${task.memoryLimitMb} MiB` : 'node default';
}
