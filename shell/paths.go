package shell

import (
	"os"
	"path/filepath"
)

// Env looks up an environment variable; os.Getenv in production, a map in
// tests.
type Env func(name string) string

func (e Env) get(name string) string {
	if e == nil {
		return os.Getenv(name)
	}
	return e(name)
}

// HistoryPath is where the shell keeps its history: $NETSQL_HISTORY, else
// $XDG_STATE_HOME/netsql/history, else ~/.local/state/netsql/history. It is
// empty when none of these can be worked out (no home directory).
func HistoryPath(env Env) string {
	if p := env.get("NETSQL_HISTORY"); p != "" {
		return p
	}
	dir := xdgDir(env, "XDG_STATE_HOME", ".local/state")
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, "netsql", "history")
}

// ConfigDir is the shell's configuration directory, holding init.sql and
// queries/*.sql: $XDG_CONFIG_HOME/netsql, else ~/.config/netsql.
func ConfigDir(env Env) string {
	dir := xdgDir(env, "XDG_CONFIG_HOME", ".config")
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, "netsql")
}

// xdgDir returns $name when it is an absolute path (the XDG spec says to
// ignore relative ones), else $HOME/fallback.
func xdgDir(env Env, name, fallback string) string {
	if d := env.get(name); filepath.IsAbs(d) {
		return d
	}
	home := env.get("HOME")
	if home == "" && env == nil {
		home, _ = os.UserHomeDir()
	}
	if home == "" {
		return ""
	}
	return filepath.Join(home, fallback)
}
