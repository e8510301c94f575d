// Package format writes result sets as text: table, csv, json, ndjson,
// line, markdown, sqlite3's column, box, list, tabs, quote and insert
// modes, and raw (netstat's own layout). It also holds the rule that keeps
// values from driving a terminal (TerminalSafe). It imports nothing of
// netsql: one-shot mode, the shell and every headless consumer share it.
package format
