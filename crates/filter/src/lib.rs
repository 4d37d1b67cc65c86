//! ironban-filter (in progress).
