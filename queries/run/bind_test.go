package run

import (
	"reflect"
	"strings"
	"testing"
)

// TestParamValue: a parameter's text binds as SQLite reads the same text
// as a numeric literal; anything else is text.
func TestParamValue(t *testing.T) {
	for _, c := range []struct {
		in   string
		want any
	}{
		{"100", int64(100)}, {"-5", int64(-5)}, {"+7", int64(7)}, {"007", int64(7)},
		{"1.5", 1.5}, {".5", 0.5}, {"5.", 5.0}, {"2e3", 2000.0}, {"-1E-2", -0.01},
		{"99999999999999999999", 1e20}, // too big for an INTEGER: REAL, as in SQL
		{"1_000", "1_000"}, {"0x10", "0x10"}, {"Inf", "Inf"}, {"NaN", "NaN"},
		{" 5", " 5"}, {"5 ", "5 "}, {"", ""}, {"-", "-"}, {"--5", "--5"}, {"1e", "1e"},
		{"abc", "abc"}, {"1.2.3", "1.2.3"},
	} {
		if got := ParamValue(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParamValue(%q) = %#v, want %#v", c.in, got, c.want)
		}
	}
}

// TestParamNames: parameter names follow SQLite's tokenizer (non-ASCII
// and $ continue a name); positional ones are kept to be refused.
func TestParamNames(t *testing.T) {
	stmts, _ := Split("SELECT :é, :a$b, @x1, ?5, ?, :1 FROM t WHERE y = 'é:no';")
	if got, want := stmts[0].Params, []string{"é", "a$b", "x1", "?5", "?", "1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("params = %q, want %q", got, want)
	}
	if got, want := ParamNames("SELECT :b, :a; SELECT :c, ?1, :a", []string{"a", "z"}), []string{"a", "z", "b", "c"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ParamNames = %q, want %q", got, want)
	}
	for name, ok := range map[string]bool{"a": true, "é": true, "état_2$": true, "x€": true,
		"": false, "1": false, "_x": false, "a b": false, "a-b": false, "a=b": false, "\xff": false} {
		if ValidParamName(name) != ok {
			t.Errorf("ValidParamName(%q) = %v", name, !ok)
		}
	}
	for _, c := range []struct{ names, want string }{
		{"?5", "positional parameter ?5 is not supported"},
		{"?", "positional parameter ? is not supported"},
		{"1", "parameter :1 cannot be bound: a parameter name starts with a letter"},
		{"nope", "missing parameter :nope (give it with -p nope=VALUE)"},
	} {
		if _, err := Bind([]string{c.names}, map[string]string{"1": "x"}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Bind(%s) = %v, want %q", c.names, err, c.want)
		}
	}
	if err := CheckParamNames("q", []string{"port", "protoo"}, []string{"port", "proto"}); err == nil || err.Error() != "no parameter :protoo in q, which takes :port, :proto" {
		t.Errorf("CheckParamNames = %v", err)
	}
}
