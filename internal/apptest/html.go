package apptest

import (
	"bytes"
	"slices"
	"strings"

	. "github.com/onsi/gomega"
	"golang.org/x/net/html"
)

// ParseHTML parses an HTML report as a browser would, failing the spec on
// an error.
func ParseHTML(page []byte) *html.Node {
	doc, err := html.Parse(bytes.NewReader(page))
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	return doc
}

// Walk calls f on n and on every node below it, in document order.
func Walk(n *html.Node, f func(*html.Node)) {
	f(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		Walk(c, f)
	}
}

// Attr is n's attribute key, and whether it has one.
func Attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// HasClass reports whether class is one of n's classes.
func HasClass(n *html.Node, class string) bool {
	v, _ := Attr(n, "class")
	return slices.Contains(strings.Fields(v), class)
}

// Elements are the elements below root named tag, with class (any class
// when "").
func Elements(root *html.Node, tag, class string) []*html.Node {
	var out []*html.Node
	Walk(root, func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == tag && (class == "" || HasClass(n, class)) {
			out = append(out, n)
		}
	})
	return out
}

// ByID is the element with id, nil when there is none.
func ByID(root *html.Node, id string) *html.Node {
	var found *html.Node
	Walk(root, func(n *html.Node) {
		if v, ok := Attr(n, "id"); ok && v == id && found == nil {
			found = n
		}
	})
	return found
}

// Text is all the text below n, joined.
func Text(n *html.Node) string {
	var b strings.Builder
	Walk(n, func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
	})
	return b.String()
}
