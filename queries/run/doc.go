// Package run is netsql's headless run layer: it cuts a script into
// statements exactly where SQLite would (a port of sqlite3_complete),
// binds :name parameters from text, runs each statement on an engine and
// writes its rows through a queries/format Writer, and turns driver
// errors into the one line a user reads. The shell, one-shot mode, netstat
// mode, metrics and record all run SQL through it; it never imports the
// interactive shell.
package run
