package procline

import (
	"bufio"
	"errors"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		in    string
		lines []string
		err   error
	}{
		{"", nil, nil},
		{"a\n", []string{"a"}, nil},
		{"a\n\nb\n", []string{"a", "", "b"}, nil},
		{"a\nb", []string{"a"}, ErrTruncated},
		{"x", nil, ErrTruncated},
	} {
		s := bufio.NewScanner(strings.NewReader(tc.in))
		s.Split(Split)
		var got []string
		for s.Scan() {
			got = append(got, s.Text())
		}
		if strings.Join(got, "|") != strings.Join(tc.lines, "|") || len(got) != len(tc.lines) || !errors.Is(s.Err(), tc.err) {
			t.Errorf("%q: lines %q, err %v; want %q, %v", tc.in, got, s.Err(), tc.lines, tc.err)
		}
	}
}
