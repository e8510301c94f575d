package vtab

import (
	"fmt"
	"strings"

	sqlvtab "modernc.org/sqlite/vtab"
)

// Reference renders the table reference in Markdown from the declarations,
// for vtab/README.md (a test keeps the two equal).
func Reference(schemas []Schema) string {
	var b strings.Builder
	for _, s := range schemas {
		fmt.Fprintf(&b, "### %s\n\n%s\n\n", s.Name, s.Doc)
		for _, ex := range append([]string{s.Example}, s.Examples...) {
			if ex != "" {
				fmt.Fprintf(&b, "```sql\n%s\n```\n\n", ex)
			}
		}
		b.WriteString("| column | type | description |\n|---|---|---|\n")
		for _, c := range s.Columns {
			doc := c.Doc
			if c.Name == netnsColumn || c.Name == netnsNameColumn {
				if s.PerNetNS {
					doc += " *(`=` selects the namespaces read)*"
				}
			} else if pushed := pushedOps(c.Push); pushed != "" {
				doc += " *(`" + pushed + "` filters in the kernel request)*"
			}
			if c.Hidden {
				doc += " *(hidden: a table argument)*"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", c.Name, c.Type, strings.ReplaceAll(doc, "|", `\|`))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Index renders the list of tables for the top README: each table's name,
// linked to its section of the reference in vtab/README.md, and the first
// sentence of its doc (a test keeps the two equal).
func Index(schemas []Schema) string {
	var b strings.Builder
	b.WriteString("| table | what |\n|---|---|\n")
	for _, s := range schemas {
		fmt.Fprintf(&b, "| [`%s`](vtab/README.md#%s) | %s |\n", s.Name, s.Name, strings.ReplaceAll(firstSentence(s.Doc), "|", `\|`))
	}
	return b.String()
}

// firstSentence is doc up to the end of its first sentence: a period
// followed by a space, or the end.
func firstSentence(doc string) string {
	if i := strings.Index(doc, ". "); i >= 0 {
		return doc[:i+1]
	}
	return doc
}

// FunctionReference renders the SQL functions in Markdown, for
// vtab/README.md after the tables.
func FunctionReference(fns []Function) string {
	var b strings.Builder
	b.WriteString("### SQL functions\n\nAny query can use them; the netstat views are built on them.\n\n| function | description |\n|---|---|\n")
	for _, f := range fns {
		fmt.Fprintf(&b, "| `%s` | %s |\n", f.Name, strings.ReplaceAll(f.Doc, "|", `\|`))
	}
	b.WriteString("\n")
	return b.String()
}

func pushedOps(ops []sqlvtab.ConstraintOp) string {
	names := map[sqlvtab.ConstraintOp]string{sqlvtab.OpEQ: "=", sqlvtab.OpNE: "!=", sqlvtab.OpGT: ">", sqlvtab.OpGE: ">=", sqlvtab.OpLT: "<", sqlvtab.OpLE: "<="}
	var out []string
	for _, op := range ops {
		if n, ok := names[op]; ok {
			out = append(out, n)
		}
	}
	if len(out) == 1 && out[0] == "=" {
		return "= / IN"
	}
	return strings.Join(out, " ")
}
