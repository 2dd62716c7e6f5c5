// Package prose holds the small wording helpers that failure messages,
// reports and the CLI share, so a count or an indented block reads the
// same everywhere.
package prose

import (
	"fmt"
	"strings"
)

// Plural is n with the noun that fits it: "1 webhook", "3 webhooks".
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Indent prefixes every non-empty line of s; a trailing newline is dropped.
func Indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}
