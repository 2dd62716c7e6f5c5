package scenarios

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// This file holds the loader's AST plumbing: positions, errors, mappings
// (with merge keys and aliases) and the scalar readers every section uses.

// loader walks one file's AST, collecting every problem it finds.
type loader struct {
	path    string // as given, for Pos.File
	dir     string // the file's directory, for relative paths
	lines   []string
	errs    Errors
	seen    map[string]bool // "line:col:msg" already reported
	anchors map[string][]*ast.AnchorNode
	aliases map[Pos]bool // undefined aliases, reported once

	audio map[string]audioResult // resolved audio specs, by resolved spec
	refs  map[Pos]ref            // by the Pos of a step or expectation: where it names a stream

	problems     map[string]*problem // expectation problems, reported once for all scenarios
	problemOrder []string

	api         Pos              // where target.api is, when set
	perScenario map[Pos][]*field // by scenario: its own emulator-wide settings (see sharedEmulator)
}

// ref is where a step or an expectation names a stream.
type ref struct {
	pos   Pos
	label string
}

// field is one value to read: a mapping entry or a list item. label starts
// the messages about it ("tracks", "steps[2]").
type field struct {
	label string
	key   string
	kpos  Pos      // the key's position (the value's, for list items)
	node  ast.Node // the value, anchors/aliases/tags resolved
	pos   Pos      // the value's position (the key's when there is no value)
}

// object is a mapping whose keys have been checked.
type object struct {
	pos    Pos
	keys   []string // the keys allowed, in the order read visits them
	fields map[string]*field
	// misspelled holds the keys that unknown keys were taken for: a
	// missing required key that was only misspelled is not reported twice.
	misspelled map[string]bool
}

// read gives each key o has to its reader, in the order of o's keys; a
// nil o (not a mapping, reported) has none.
func (o *object) read(readers map[string]func(*field)) {
	if o == nil {
		return
	}
	for _, key := range o.keys {
		if v, ok := o.fields[key]; ok && readers[key] != nil {
			readers[key](v)
		}
	}
}

// into is a reader that stores in dst what read makes of the value (the
// zero value when read refuses it, and reports why).
func into[T any](dst *T, read func(*field) (T, bool)) func(*field) {
	return func(f *field) { *dst, _ = read(f) }
}

// checked reads f with read and refuses, with the message why gives, a
// value accept does not take.
func checked[T any](l *loader, f *field, read func(*field) (T, bool), accept func(T) bool, why func(T) string) (T, bool) {
	v, ok := read(f)
	if ok && !accept(v) {
		l.errorf(f.pos, "%s", why(v))
		var zero T
		return zero, false
	}
	return v, ok
}

// require says message, at the object, when it lacks key.
func (l *loader) require(o *object, key, message string) {
	if _, ok := o.get(key); !ok {
		l.missing(o, key, "%s", message)
	}
}

// missing reports a required key that o lacks, unless it was misspelled.
func (l *loader) missing(o *object, key, format string, args ...any) {
	if o.misspelled[key] {
		return
	}
	l.errorf(o.pos, format, args...)
}

func (o *object) get(key string) (*field, bool) {
	if o == nil {
		return nil, false
	}
	f, ok := o.fields[key]
	return f, ok
}

func (l *loader) errorf(p Pos, format string, args ...any) {
	if l.aliases[p] {
		return // the undefined alias is the problem, not its value
	}
	msg := fmt.Sprintf(format, args...)
	k := fmt.Sprintf("%d:%d:%s", p.Line, p.Col, msg)
	if l.seen[k] {
		return
	}
	l.seen[k] = true
	line := ""
	if p.Line >= 1 && p.Line <= len(l.lines) {
		line = l.lines[p.Line-1]
	}
	l.errs = append(l.errs, &Error{Pos: p, Msg: msg, Line: line})
}

func (l *loader) tokPos(tk *token.Token) Pos {
	if tk == nil || tk.Position == nil {
		return Pos{File: l.path, Line: 1, Col: 1}
	}
	return Pos{File: l.path, Line: tk.Position.Line, Col: tk.Position.Column}
}

// pos is where a node starts in the source: a block mapping at its first
// key, a flow mapping or list at its bracket, a block list at its first dash.
func (l *loader) pos(n ast.Node) Pos {
	switch v := n.(type) {
	case nil:
		return Pos{File: l.path, Line: 1, Col: 1}
	case *ast.MappingNode:
		if !v.IsFlowStyle && len(v.Values) > 0 {
			return l.pos(v.Values[0])
		}
	case *ast.MappingValueNode:
		return l.pos(v.Key)
	case *ast.DocumentNode:
		if v.Start == nil {
			return l.pos(v.Body)
		}
		return l.tokPos(v.Start)
	}
	// Every other node starts at its token: a flow mapping and a list at
	// the bracket or dash, an anchor, alias or tag at its sign.
	return l.tokPos(n.GetToken())
}

// syntax reports a YAML syntax error at its position.
func (l *loader) syntax(err error) {
	var ye yaml.Error
	if errors.As(err, &ye) {
		msg := ye.GetMessage()
		if msg == "" {
			msg = err.Error()
		}
		l.errorf(l.tokPos(ye.GetToken()), "YAML syntax error: %s", msg)
		return
	}
	l.errorf(Pos{File: l.path, Line: 1, Col: 1}, "YAML syntax error: %v", err)
}

// collectAnchors records every anchor, so aliases can be resolved, and
// reports aliases without an anchor before them.
func (l *loader) collectAnchors(n ast.Node) {
	var aliases []*ast.AliasNode
	ast.Walk(visitFunc(func(n ast.Node) {
		switch v := n.(type) {
		case *ast.AnchorNode:
			if v.Name != nil {
				name := v.Name.GetToken().Value
				l.anchors[name] = append(l.anchors[name], v)
			}
		case *ast.AliasNode:
			aliases = append(aliases, v)
		}
	}), n)
	for _, a := range aliases {
		if l.anchorFor(a) == nil {
			name := ""
			if a.Value != nil {
				name = a.Value.GetToken().Value
			}
			p := l.pos(a)
			l.errorf(p, "undefined alias *%s: no anchor &%s before it", name, name)
			l.aliases[p] = true
		}
	}
}

type visitFunc func(ast.Node)

func (f visitFunc) Visit(n ast.Node) ast.Visitor { f(n); return f }

// unwrap resolves anchors, aliases (to the nearest earlier anchor of that
// name) and tags; a !!str tag turns a scalar into a string.
func (l *loader) unwrap(n ast.Node) ast.Node {
	for range 64 { // aliases cannot nest deeper than this in a sane file
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			if v.Start != nil && (v.Start.Value == "!!str" || v.Start.Value == "!str") {
				if _, scalar := v.Value.(ast.ScalarNode); scalar && v.Value.GetToken() != nil {
					return ast.String(v.Value.GetToken())
				}
			}
			n = v.Value
		case *ast.AliasNode:
			a := l.anchorFor(v)
			if a == nil {
				return v
			}
			n = a.Value
		default:
			return n
		}
	}
	return n
}

func (l *loader) anchorFor(alias *ast.AliasNode) *ast.AnchorNode {
	if alias.Value == nil {
		return nil
	}
	at := l.pos(alias)
	var found *ast.AnchorNode
	for _, a := range l.anchors[alias.Value.GetToken().Value] {
		p := l.pos(a)
		if p.Line < at.Line || (p.Line == at.Line && p.Col < at.Col) {
			found = a
		}
	}
	return found
}

// describe names a node's kind for "want X, got Y" messages.
func describe(n ast.Node) string {
	switch v := n.(type) {
	case nil, *ast.NullNode:
		return "no value"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.BoolNode:
		return "the boolean " + v.GetToken().Value
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "the number " + v.GetToken().Value
	case *ast.StringNode:
		return fmt.Sprintf("the string %q", v.Value)
	case *ast.LiteralNode:
		return fmt.Sprintf("the string %q", v.Value.Value)
	case *ast.AliasNode:
		return "an undefined alias"
	}
	return n.Type().String()
}

func isNull(n ast.Node) bool {
	_, ok := n.(*ast.NullNode)
	return n == nil || ok
}

// newField makes the field for a value.
func (l *loader) newField(label, key string, kpos Pos, value ast.Node) *field {
	n := l.unwrap(value)
	f := &field{label: label, key: key, kpos: kpos, node: n, pos: kpos}
	if !isNull(n) {
		f.pos = l.pos(n)
	}
	return f
}

// item makes the field for the i-th element of the list under label.
func (l *loader) item(label string, i int, n ast.Node) *field {
	lbl := fmt.Sprintf("%s[%d]", label, i)
	n = l.unwrap(n)
	p := l.pos(n)
	return &field{label: lbl, key: lbl, kpos: p, node: n, pos: p}
}

// entry is one key: value of a mapping, before checking.
type entry struct {
	key   string
	kpos  Pos
	value ast.Node
}

// entries lists a mapping's entries with merge keys (<<) expanded: the
// mapping's own keys win over merged ones, and earlier merged mappings win
// over later ones. Duplicate keys are reported. ok is false when n is not a
// mapping.
func (l *loader) entries(n ast.Node) (out []entry, ok bool) {
	var values []*ast.MappingValueNode
	switch v := n.(type) {
	case *ast.MappingNode:
		values = v.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{v}
	default:
		return nil, false
	}
	own := map[string]Pos{}
	var merged []entry
	for _, mv := range values {
		if _, isMerge := mv.Key.(*ast.MergeKeyNode); isMerge {
			merged = append(merged, l.mergeEntries(mv)...)
			continue
		}
		k := mv.Key.(ast.Node)
		if mk, isKey := k.(*ast.MappingKeyNode); isKey {
			k = mk.Value
		}
		k = l.unwrap(k)
		kp := l.pos(k)
		var key string
		switch kv := k.(type) {
		case *ast.StringNode:
			key = kv.Value
		case ast.ScalarNode:
			key = kv.GetToken().Value
		default:
			l.errorf(kp, "a key must be a plain word, got %s", describe(k))
			continue
		}
		if first, dup := own[key]; dup {
			l.errorf(kp, "duplicate key %q (first set at line %d)", key, first.Line)
			continue
		}
		own[key] = kp
		out = append(out, entry{key: key, kpos: kp, value: mv.Value})
	}
	for _, e := range merged {
		if _, set := own[e.key]; set {
			continue
		}
		own[e.key] = e.kpos
		out = append(out, e)
	}
	return out, true
}

func (l *loader) mergeEntries(mv *ast.MappingValueNode) []entry {
	v := l.unwrap(mv.Value)
	var sources []ast.Node
	if seq, isSeq := v.(*ast.SequenceNode); isSeq {
		for _, s := range seq.Values {
			sources = append(sources, l.unwrap(s))
		}
	} else {
		sources = []ast.Node{v}
	}
	var out []entry
	for _, s := range sources {
		es, ok := l.entries(s)
		if !ok {
			l.errorf(l.pos(s), "<<: want a mapping (or a list of mappings) to merge, got %s", describe(s))
			continue
		}
		out = append(out, es...)
	}
	return out
}

// obj reads f as a mapping whose keys must be among keys; what names it in
// unknown-key messages ("stream", "scenario"). No value is an empty
// mapping. It returns nil when f is not a mapping (reported).
func (l *loader) obj(f *field, what string, keys []string) *object {
	es, ok := l.mapping(f, "a mapping")
	if !ok {
		return nil
	}
	o := &object{pos: f.pos, keys: keys, fields: map[string]*field{}, misspelled: map[string]bool{}}
	for _, e := range es {
		if !contains(keys, e.key) {
			l.errorf(e.kpos, "unknown key %q in %s (%s)", e.key, what, keyHint(e.key, what, keys))
			if best := suggest(e.key, keys); best != "" {
				o.misspelled[best] = true
			}
			continue
		}
		o.fields[e.key] = l.newField(e.key, e.key, e.kpos, e.value)
	}
	return o
}

// mapping reads f's entries; no value has none. ok is false when f is
// something else (reported: want says what was wanted).
func (l *loader) mapping(f *field, want string) (es []entry, ok bool) {
	if isNull(f.node) {
		return nil, true
	}
	if es, ok = l.entries(f.node); !ok {
		l.errorf(f.pos, "%s: want %s, got %s", f.label, want, describe(f.node))
	}
	return es, ok
}

// list reads f as a list; no value is an empty list. ok is false when f
// is something else (reported).
func (l *loader) list(f *field) (items []ast.Node, ok bool) {
	switch v := f.node.(type) {
	case nil, *ast.NullNode:
		return nil, true
	case *ast.SequenceNode:
		return v.Values, true
	}
	l.errorf(f.pos, "%s: want a list, got %s", f.label, describe(f.node))
	return nil, false
}

// str reads a string. Numbers and booleans are refused: a YAML 5 is not the
// text "5", and a hint says to quote it.
func (l *loader) str(f *field) (string, bool) { return l.scalar(f, false) }

// text reads any scalar as its source text: phone numbers, parameter values.
func (l *loader) text(f *field) (string, bool) { return l.scalar(f, true) }

// basicUser reads a Basic auth user: text without a colon, which HTTP
// Basic cannot carry (RFC 7617).
func (l *loader) basicUser(f *field) (string, bool) {
	s, ok := l.text(f)
	if ok && strings.Contains(s, ":") {
		l.errorf(f.pos, "%s: a Basic auth user cannot contain ':' (RFC 7617), got %q", f.label, s)
		return "", false
	}
	return s, ok
}

// scalar reads a string; with asText a number or boolean too, as the
// text it was written as (without, the error says to quote it).
func (l *loader) scalar(f *field, asText bool) (string, bool) {
	quoted := "" // what to write in quotes, for a scalar that is no string
	switch v := f.node.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return v.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		if asText {
			return v.GetToken().Value, true
		}
		quoted = v.GetToken().Value
	case *ast.InfinityNode, *ast.NanNode:
		if !asText {
			quoted = v.GetToken().Value
		}
	}
	if quoted != "" {
		l.errorf(f.pos, "%s: want a string, got %s (quote it if you mean the text: \"%s\")", f.label, describe(f.node), quoted)
	} else {
		l.errorf(f.pos, "%s: want a string, got %s", f.label, describe(f.node))
	}
	return "", false
}

// enum reads a string that must be one of allowed.
func (l *loader) enum(f *field, allowed ...string) (string, bool) {
	s, ok := l.str(f)
	if !ok {
		return "", false
	}
	if contains(allowed, s) {
		return s, true
	}
	msg := fmt.Sprintf("%s: %q is not one of %s", f.label, s, strings.Join(allowed, ", "))
	if best := suggest(s, allowed); best != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", best)
	}
	l.errorf(f.pos, "%s", msg)
	return "", false
}

// oneOf is enum as a reader of allowed.
func (l *loader) oneOf(allowed []string) func(*field) (string, bool) {
	return oneOfAs[string](l, allowed)
}

// oneOfAs is oneOf for words of type T.
func oneOfAs[T ~string](l *loader, allowed []string) func(*field) (T, bool) {
	return func(f *field) (T, bool) {
		s, ok := l.enum(f, allowed...)
		return T(s), ok
	}
}

// duration reads a Go duration above zero, such as 2s or 1m30s.
func (l *loader) duration(f *field) (time.Duration, bool) {
	switch f.node.(type) {
	case *ast.IntegerNode, *ast.FloatNode:
		l.errorf(f.pos, "%s: want a duration with a unit, such as 2s or 500ms, got %s", f.label, describe(f.node))
		return 0, false
	}
	s, ok := l.str(f)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	switch {
	case err != nil:
		l.errorf(f.pos, "%s: %q is not a duration (want a number with a unit: 2s, 1.5s, 500ms, 1m)", f.label, s)
		return 0, false
	case d < 0:
		l.errorf(f.pos, "%s: %q is negative (want a duration above 0, such as 2s)", f.label, s)
		return 0, false
	case d == 0:
		l.errorf(f.pos, "%s: %q is zero (want a duration above 0, such as 2s)", f.label, s)
		return 0, false
	}
	return d, true
}

// boolean reads true or false.
func (l *loader) boolean(f *field) (bool, bool) {
	if b, ok := f.node.(*ast.BoolNode); ok {
		return b.Value, true
	}
	l.errorf(f.pos, "%s: want true or false, got %s", f.label, describe(f.node))
	return false, false
}

// optBool reads true or false as a *bool, nil when it is neither.
func (l *loader) optBool(f *field) *bool {
	b, ok := l.boolean(f)
	if !ok {
		return nil
	}
	return &b
}

// integer reads a whole number.
func (l *loader) integer(f *field) (int, bool) {
	if n, ok := f.node.(*ast.IntegerNode); ok {
		switch v := n.Value.(type) {
		case int64:
			if v >= math.MinInt && v <= math.MaxInt {
				return int(v), true
			}
		case uint64:
			if v <= math.MaxInt {
				return int(v), true
			}
		}
		l.errorf(f.pos, "%s: %s is too large", f.label, n.GetToken().Value)
		return 0, false
	}
	l.errorf(f.pos, "%s: want a whole number, got %s", f.label, describe(f.node))
	return 0, false
}

// number reads an integer or a decimal number.
func (l *loader) number(f *field) (float64, bool) {
	switch v := f.node.(type) {
	case *ast.IntegerNode:
		x, err := strconv.ParseFloat(strings.ReplaceAll(v.GetToken().Value, "_", ""), 64)
		if err == nil {
			return x, true
		}
		switch iv := v.Value.(type) {
		case int64:
			return float64(iv), true
		case uint64:
			return float64(iv), true
		}
	case *ast.FloatNode:
		return v.Value, true
	}
	l.errorf(f.pos, "%s: want a number, got %s", f.label, describe(f.node))
	return 0, false
}

// wsURL reads a ws:// or wss:// URL.
func (l *loader) wsURL(f *field) (string, bool) {
	return l.urlOf(f, "ws", "wss", "the app's WebSocket endpoint")
}

// httpURL reads an http:// or https:// URL.
func (l *loader) httpURL(f *field) (string, bool) {
	return l.urlOf(f, "http", "https", "the app's webhook endpoint")
}

func (l *loader) urlOf(f *field, plain, secure, what string) (string, bool) {
	s, ok := l.str(f)
	if !ok {
		return "", false
	}
	u, err := url.Parse(s)
	if err == nil && u.Host != "" {
		switch strings.ToLower(u.Scheme) {
		case plain, secure:
			return s, true
		case "ws", "wss", "http", "https":
			l.errorf(f.pos, "%s: %q has scheme %s: want %s:// or %s:// (%s)", f.label, s, strings.ToLower(u.Scheme), plain, secure, what)
			return "", false
		}
	}
	l.errorf(f.pos, "%s: %q is not a %s:// or %s:// URL with a host (%s)", f.label, s, plain, secure, what)
	return "", false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
