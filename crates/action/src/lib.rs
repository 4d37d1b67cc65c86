//! ironban-action (in progress).
