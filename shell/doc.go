// Package shell is netsql's interactive shell: the REPL (readline,
// history, completion) and its dot-commands. Splitting, binding, running
// and output formats live below it, in queries/run and queries/format.
package shell
