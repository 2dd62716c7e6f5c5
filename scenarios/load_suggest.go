package scenarios

import (
	"fmt"
	"strings"
)

// suggest returns the candidate s was most likely meant to be: the same
// word in another case, or one a typo or two away; "" when none is close.
func suggest(s string, candidates []string) string {
	best, bestDist := "", 1<<30
	for _, c := range candidates {
		if strings.EqualFold(s, c) {
			return c
		}
		d := editDistance(strings.ToLower(s), strings.ToLower(c))
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	limit := 1
	if len([]rune(s)) > 4 {
		limit = 2
	}
	if bestDist <= limit {
		return best
	}
	return ""
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of neighbours each cost one.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// homes says where keys that are often put at the wrong level belong; a
// key of several places is that of the last one listed.
var homes = func() map[string]string {
	m := map[string]string{}
	for _, place := range []struct {
		home string
		keys []string
	}{
		{"target", targetKeys}, {"call", callKeys}, {"stream", streamKeys}, {"timeouts", timeoutKeys},
		{"expect", expectKeys}, {"defaults or a scenario", settingKeys},
	} {
		for _, k := range place.keys {
			m[k] = place.home
		}
	}
	m["steps"] = "a scenario"
	m["name"] = "" // a scenario's and a stream's: no single home
	m["disconnect"] = ""
	return m
}()

// keyHint completes an unknown-key message: a likely typo, the place the
// key belongs, or the keys accepted here.
func keyHint(key, what string, keys []string) string {
	if best := suggest(key, keys); best != "" {
		return fmt.Sprintf("did you mean %q?", best)
	}
	if home := homes[key]; home != "" && home != what {
		return fmt.Sprintf("%q belongs in %s", key, home)
	}
	return "want one of " + strings.Join(keys, ", ")
}
