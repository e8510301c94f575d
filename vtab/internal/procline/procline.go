// Package procline splits the text files the kernel writes under /proc
// into lines. The kernel ends every line with a newline, so a last line
// without one was cut short (a truncated copy in a support bundle, a
// file still being written): reading it as a whole line would turn an
// inode 412 into 41 without a word. Split reports it as ErrTruncated.
package procline

import (
	"bufio"
	"bytes"
	"errors"
)

// ErrTruncated is the error Split returns for a last line that does not
// end in a newline. bufio.Scanner.Err returns it.
var ErrTruncated = errors.New("truncated: the last line does not end in a newline")

// Split is a bufio.SplitFunc for kernel-written text: each token is one
// line without its newline; data that ends without a newline is
// ErrTruncated.
func Split(data []byte, atEOF bool) (advance int, token []byte, err error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return 0, nil, ErrTruncated
	}
	return 0, nil, nil
}

var _ bufio.SplitFunc = Split
