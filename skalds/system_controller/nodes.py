"""The controller's view of Skald nodes: read from live state by `skalds.transport.node_registry`,
where the node's writer of the same keys lives."""

from __future__ import annotations

from skalds.transport.node_registry import NodeRecord, NodeRegistry

__all__ = ["NodeRecord", "NodeRegistry"]
