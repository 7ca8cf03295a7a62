"""The task lifecycle: every change of a task's state, each a compare-and-set over the task-store port
(`lifecycle`), the batched status writes of a node (`status_change`), and the reads the controller and
the nodes make (`queries`). Nothing else builds a store filter or an update document."""
