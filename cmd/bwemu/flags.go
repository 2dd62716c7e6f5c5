package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// parseInterspersed parses flags that may come before or after positional
// arguments (bwemu stream ws://… --for 2s), returning the positionals.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// newFlagSet returns a flag set whose errors parseFlags reports.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parseFlags prints: one line for an error, everything for --help
	fs.Usage = func() {}
	return fs
}

// parseFlags parses interspersed flags; on failure it prints the complaint
// and the usage line (the whole flag list for --help) and returns the exit
// code with ok false.
func parseFlags(fs *flag.FlagSet, synopsis string, args []string, stdout, stderr io.Writer) (pos []string, code int, ok bool) {
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stdout, "usage: %s\n\nflags:\n", synopsis)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return nil, exitPass, false
	}
	if err != nil {
		return nil, usageError(stderr, synopsis, "%v", err), false
	}
	return pos, 0, true
}

// usageError prints a one-line complaint and the command's usage line.
func usageError(stderr io.Writer, synopsis string, format string, args ...any) int {
	fmt.Fprintf(stderr, "bwemu: %s\nusage: %s\n(run with --help for every flag)\n", fmt.Sprintf(format, args...), synopsis)
	return exitUsage
}

// kvFlag collects repeated k=v flags in order.
type kvFlag struct {
	keys, values []string
}

func (f *kvFlag) String() string {
	var parts []string
	for i := range f.keys {
		parts = append(parts, f.keys[i]+"="+f.values[i])
	}
	return strings.Join(parts, ",")
}

func (f *kvFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want name=value, got %q", s)
	}
	f.keys = append(f.keys, k)
	f.values = append(f.values, v)
	return nil
}

// choiceFlag accepts one of a fixed set of words.
type choiceFlag struct {
	value   string
	choices []string
}

func newChoice(def string, choices ...string) *choiceFlag {
	return &choiceFlag{value: def, choices: choices}
}

func (f *choiceFlag) String() string { return f.value }

func (f *choiceFlag) Set(s string) error {
	for _, c := range f.choices {
		if strings.EqualFold(s, c) {
			f.value = c
			return nil
		}
	}
	return fmt.Errorf("want one of %s", strings.Join(f.choices, ", "))
}
