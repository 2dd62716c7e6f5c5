package scenarios

import (
	"cmp"
	"slices"
	"strings"
)

// Error is one problem found in a scenario file.
type Error struct {
	Pos  Pos    // where: the file as given, 1-based line and column
	Msg  string // what is wrong and what is accepted
	Line string // the source line at Pos.Line ("" when there is none)
}

// Error renders the problem as `FILE:LINE:COL: message`, followed by the
// source line and a caret under the column, both indented by four spaces.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Pos.String())
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Line != "" {
		b.WriteString("\n    ")
		b.WriteString(e.Line)
		b.WriteString("\n    ")
		b.WriteString(caretPad(e.Line, e.Pos.Col))
		b.WriteByte('^')
	}
	return b.String()
}

// caretPad is the run of blanks that puts a caret under column col (1-based,
// counted in characters) of line; tabs are kept so the caret lines up.
func caretPad(line string, col int) string {
	var b strings.Builder
	n := 1
	for _, r := range line {
		if n >= col {
			break
		}
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
		n++
	}
	for ; n < col; n++ { // a column past the end of the line
		b.WriteByte(' ')
	}
	return b.String()
}

// Errors are all the problems found in a file, in source order.
type Errors []*Error

// Error joins the errors, one block per problem.
func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Unwrap gives errors.Is and errors.As access to each problem.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sortErrors orders errors by position, keeping the order of equal
// positions.
func sortErrors(es Errors) {
	slices.SortStableFunc(es, func(a, b *Error) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col),
		)
	})
}
