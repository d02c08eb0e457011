package enum_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/egresslab/egresslab/internal/enum"
)

func TestDistance(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		a, b string
		want int
	}{
		"same":        {"timeout", "timeout", 0},
		"one missing": {"timout", "timeout", 1},
		"one extra":   {"timeoutt", "timeout", 1},
		"one changed": {"timeoat", "timeout", 1},
		"swapped":     {"ntml", "ntlm", 1},
		"empty":       {"", "abc", 3},
		"both empty":  {"", "", 0},
		"unrelated":   {"gremlins", "timeout", 7},
		"runes":       {"näive", "naive", 1},
		"kitten":      {"kitten", "sitting", 3},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, enum.Distance(tc.a, tc.b))
			assert.Equal(t, tc.want, enum.Distance(tc.b, tc.a), "symmetric")
		})
	}
}

func TestNearest(t *testing.T) {
	t.Parallel()
	valid := []string{"proxy-auth-required", "proxy-denied", "timeout", "tls-version-unsupported", "per-machine", "per-user"}
	tests := map[string]struct {
		in   string
		want string // "" for no suggestion
	}{
		"a letter missing":     {"timout", "timeout"},
		"capitals":             {"Timeout", "timeout"},
		"a slip in a long one": {"proxy-auth-requird", "proxy-auth-required"},
		"two slips":            {"prxy-denid", "proxy-denied"},
		"a prefix too short":   {"per", ""},
		"nothing near":         {"gremlins", ""},
		"empty":                {"", ""},
		"ties go to the first": {"per-mser", "per-user"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, ok := enum.Nearest(tc.in, valid)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.want != "", ok)
		})
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	type outcome string
	valid := []outcome{"success", "blocked"}
	assert.NoError(t, enum.Check(outcome("success"), valid))
	assert.EqualError(t, enum.Check(outcome("sucess"), valid), `"sucess": want one of success, blocked (did you mean "success"?)`)
	assert.EqualError(t, enum.Check(outcome("fine"), valid), `"fine": want one of success, blocked`)
}

func ExampleError() {
	fmt.Println(enum.Error("timout", []string{"proxy-denied", "timeout"}))
	// Output: "timout": want one of proxy-denied, timeout (did you mean "timeout"?)
}
