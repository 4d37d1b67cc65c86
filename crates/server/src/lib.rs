//! ironban-server (in progress).
