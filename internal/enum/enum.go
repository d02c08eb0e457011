// Package enum words the error for a value that is not one of a fixed set
// (an outcome, a cause, an OS): it lists the valid values and, when one is
// near, suggests it, as in
//
//	"timout": want one of success, timeout, ... (did you mean "timeout"?)
package enum

import (
	"fmt"
	"slices"
	"strings"
)

// Check returns nil when value is one of valid, else [Error].
func Check[S ~string](value S, valid []S) error {
	if slices.Contains(valid, value) {
		return nil
	}
	return Error(value, valid)
}

// Error returns the error for value, which is not one of valid: value
// quoted, the valid values in their order, and the nearest of them if one
// is near.
func Error[S ~string](value S, valid []S) error {
	names := make([]string, len(valid))
	for i, v := range valid {
		names[i] = string(v)
	}
	msg := fmt.Sprintf("%q: want one of %s", string(value), strings.Join(names, ", "))
	if near, ok := Nearest(string(value), names); ok {
		msg += fmt.Sprintf(" (did you mean %q?)", near)
	}
	return fmt.Errorf("%s", msg)
}

// Nearest returns the value of valid nearest to s by edit distance
// (insertions, deletions, substitutions and swaps of neighbours, ignoring
// case), if it is near enough to be a slip: at most a third of s's length
// away, or two edits for short words, and not all of s rewritten. Ties go
// to the first.
func Nearest(s string, valid []string) (string, bool) {
	if s == "" {
		return "", false
	}
	best, bestD := "", -1
	for _, v := range valid {
		d := Distance(strings.ToLower(s), strings.ToLower(v))
		if bestD < 0 || d < bestD {
			best, bestD = v, d
		}
	}
	n := len([]rune(s))
	if bestD < 0 || bestD > max(2, n/3) || bestD >= n {
		return "", false
	}
	return best, true
}

// Distance is the optimal string alignment distance between a and b: the
// fewest insertions, deletions, substitutions and swaps of adjacent runes
// that turn a into b (Levenshtein's, with swaps).
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// d[i][j] is the distance between ra[:i] and rb[:j].
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
