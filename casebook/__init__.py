"""Case collections (案例汇编) and briefings (简报): sections, entries, proposals, exports."""
