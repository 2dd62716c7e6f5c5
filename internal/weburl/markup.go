package weburl

import (
	"regexp"
	"strings"
)

// SecretName reports whether a field, attribute or parameter name holds a
// secret (a password, a client secret, a token).
func SecretName(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "password") || strings.Contains(n, "secret") || strings.Contains(n, "token")
}

// markupTag is an element's start tag, perhaps cut short at the end of a
// truncated body; markupAttr is one of its attributes, perhaps with its
// value cut short.
var (
	markupTag  = regexp.MustCompile(`<[A-Za-z][^<>]*>?`)
	markupAttr = regexp.MustCompile(`([A-Za-z_:][-\w.:]*)(\s*=\s*)("[^"]*"?|'[^']*'?)`)
)

// RedactMarkup returns an app's BXML (or any XML) with its secrets
// redacted, for whatever records it: attributes named like a secret
// (destinationPassword, password…), the value of a StreamParam whose name
// is a secret's (a token), and passwords in URLs.
func RedactMarkup(doc string) string {
	return markupTag.ReplaceAllStringFunc(doc, func(tag string) string {
		param := strings.HasPrefix(tag, "<StreamParam") && secretParam(tag)
		return markupAttr.ReplaceAllStringFunc(tag, func(attr string) string {
			m := markupAttr.FindStringSubmatch(attr)
			name, eq, value := m[1], m[2], m[3]
			quote := value[:1]
			if SecretName(name) || param && name == "value" {
				return name + eq + quote + Redacted + quote
			}
			inner := strings.Trim(value, `"'`)
			if r := Redact(inner); r != inner {
				return name + eq + quote + r + quote
			}
			return attr
		})
	})
}

// secretParam reports whether a StreamParam tag's name is a secret's.
func secretParam(tag string) bool {
	for _, m := range markupAttr.FindAllStringSubmatch(tag, -1) {
		if m[1] == "name" {
			return SecretName(strings.Trim(m[3], `"'`))
		}
	}
	return false
}
