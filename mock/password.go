package mock

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The reasons a [PasswordVerdict] carries. PasswordBanned is the code
// Microsoft Entra itself reports for a guessable password.
const (
	PasswordOK        = "ok"
	PasswordTooShort  = "too-short"
	PasswordTooLong   = "too-long"
	PasswordTooSimple = "too-simple" // fewer than 3 of the 4 character classes
	PasswordBanned    = "FuzzyPolicyViolationInvalidPassword"
)

// Defaults and thresholds of the password check.
const (
	// DefaultPasswordMinLength and DefaultPasswordMaxLength are the lengths,
	// in characters, that a zero [PasswordPolicy] allows.
	DefaultPasswordMinLength = 8
	DefaultPasswordMaxLength = 256
	// PasswordMinScore is the banned-password score a password needs.
	PasswordMinScore = 5

	// pwFuzzyMinLen is the shortest list term matched fuzzily: a shorter
	// term at edit distance 1 would match almost any two or three characters
	// ("abc" would match "ab", "xbc", ...), so it must occur exactly.
	pwFuzzyMinLen = 4
	// pwNameMinLen is the shortest part of a user or tenant name that is
	// banned; shorter parts ("Al", "Li", "Jr") are ignored. Microsoft's
	// current documentation says four characters, an older version of it
	// gave the three-letter first name "Pol" as its example; the lab keeps
	// three, the stricter of the two.
	pwNameMinLen = 3
)

// GlobalBannedPasswords is the built-in global banned list: common weak base
// terms, in their normalised form (lower case, with 0, 1, $ and @ replaced by
// o, l, s and a, so "123456" is "l23456"). Microsoft does not publish its
// list; these are terms every public list of leaked passwords puts near the
// top. They are matched fuzzily, at edit distance 1.
//
// [PasswordPolicy.Check] reads the list on every call; change it only before
// the service starts.
var GlobalBannedPasswords = []string{
	// the word itself, in a few languages
	"password", "passw", "passwort", "wachtwoord", "motdepasse", "contrasena",
	// keyboard walks and sequences
	"qwerty", "qwertz", "azerty", "asdfgh", "zxcvbn", "qazwsx", "abcdef",
	"abcl23", "l23456", "l23456789", "65432l", // at distance 1 these also
	// catch 12345, 1234567 and 12345678
	// greetings, access and defaults
	"welcome", "letmein", "hello", "admin", "administrator", "login", "access",
	"default", "guest", "changeme", "secret", "master", "trustnol", "whatever",
	// affection, pets and people
	"iloveyou", "monkey", "dragon", "princess", "shadow", "sunshine", "cookie",
	"flower", "freedom", "michael", "jessica", "charlie",
	// sports and pop culture
	"football", "baseball", "basketball", "soccer", "hockey", "starwars",
	"superman", "batman", "pokemon", "mustang",
	// seasons and months, the base of "Summer2024!"
	"summer", "winter", "spring", "autumn", "january", "february", "august",
	"september", "october", "november", "december",
	// the workplace
	"company", "computer", "internet", "microsoft", "windows", "office",
}

// PasswordPolicy holds what one tenant's password check needs. The zero
// value is Microsoft's default policy with the global list only.
type PasswordPolicy struct {
	// MinLength and MaxLength bound the length in characters; zero (or less)
	// means [DefaultPasswordMinLength] and [DefaultPasswordMaxLength].
	MinLength, MaxLength int
	// TenantNames are the tenant's names (for example "Contoso"); each word
	// of them is banned by exact substring match.
	TenantNames []string
	// CustomBanned is the tenant's custom banned list, matched fuzzily like
	// [GlobalBannedPasswords].
	CustomBanned []string
}

// PasswordUser names the user whose password is checked: the words of their
// names are banned by exact substring match.
type PasswordUser struct {
	// UPN is the user principal name; only its local part counts.
	UPN         string
	DisplayName string
	GivenName   string
	Surname     string
}

// PasswordVerdict is the result of [PasswordPolicy.Check]. It never holds
// the password.
type PasswordVerdict struct {
	// OK is true when the password is accepted, that is when Reason is
	// [PasswordOK].
	OK bool
	// Reason is one of PasswordOK, PasswordTooShort, PasswordTooLong,
	// PasswordTooSimple and PasswordBanned.
	Reason string
	// Score is the banned-password score. It is computed only when the
	// length and class checks passed, and is 0 otherwise.
	Score int
	// Matched lists the banned terms found, normalised, each once, in the
	// order of their first match in the password. Nil when none was found
	// or the banned-password check did not run.
	Matched []string
}

// Check checks a new password the way Microsoft Entra does when a user picks
// one ("Create a new password"), in this order:
//
//  1. its length in characters (runes; each byte of invalid UTF-8 counts as
//     one character) is within the policy's bounds;
//  2. it has at least three of four classes: lower-case letter, upper-case
//     (or title-case) letter, digit, and symbol. A symbol is any character
//     that is not a letter, a digit or white space (so also each byte of
//     invalid UTF-8). Letters without case, such as CJK ideographs, count
//     for no class.
//  3. its banned-password score is at least [PasswordMinScore].
//
// The score follows Microsoft's documented algorithm. The password is
// normalised: lower-cased, then 0, 1, $ and @ become o, l, s and a (only
// these four, the ones Microsoft documents; 3->e, 5->s, 7->t are not
// substituted). Banned terms are then found in it:
//
//   - the global list and the tenant's custom list match fuzzily: a
//     substring of the password within Levenshtein distance 1 of the term
//     (one substitution, deletion or insertion). Terms shorter than four
//     characters match exactly only;
//   - the words of the user's names (display name, given name, surname, the
//     UPN's local part) and of the tenant's names match as exact substrings.
//     Words are split at every character that is neither a letter nor a
//     digit, after normalisation; words shorter than three characters are
//     ignored.
//
// Matches never overlap. They are chosen greedily, longest term first:
// for the terms of one length, their exact occurrences first, then their
// fuzzy ones; each term in alphabetical order, each leftmost first. At one
// position a fuzzy match prefers a substitution, then a deletion, then an
// insertion, so it swallows no more of its neighbours than the edit needs.
// A longer term's fuzzy match does win over a shorter term's exact one.
//
// The score is one point for each distinct banned term found, plus one point
// for each distinct character not covered by a match: Microsoft's
// documentation scores "each remaining unique character", so "Aaaaaaaa1!"
// scores 3 ("a", "l", "!"). Under 5 points the password is banned.
//
// The work is O(n·t·m) for n characters, t terms and m the longest term;
// nothing backtracks. Check is safe for concurrent use.
func (p PasswordPolicy) Check(password string, user PasswordUser) PasswordVerdict {
	minLen, maxLen := p.MinLength, p.MaxLength
	if minLen <= 0 {
		minLen = DefaultPasswordMinLength
	}
	if maxLen <= 0 {
		maxLen = DefaultPasswordMaxLength
	}
	n := utf8.RuneCountInString(password)
	switch {
	case n < minLen:
		return PasswordVerdict{Reason: PasswordTooShort}
	case n > maxLen:
		return PasswordVerdict{Reason: PasswordTooLong}
	}
	if pwClasses(password) < 3 {
		return PasswordVerdict{Reason: PasswordTooSimple}
	}
	score, matched := pwScore(pwNormalize(password), p.pwTerms(user))
	v := PasswordVerdict{Reason: PasswordBanned, Score: score, Matched: matched}
	if score >= PasswordMinScore {
		v.OK, v.Reason = true, PasswordOK
	}
	return v
}

// pwClasses counts the character classes present in s (0 to 4).
func pwClasses(s string) int {
	var lower, upper, digit, symbol bool
	for _, r := range s { // invalid bytes arrive as utf8.RuneError, a symbol
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r), unicode.IsTitle(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		case unicode.IsLetter(r), unicode.IsSpace(r):
			// a letter without case, or white space: no class
		default:
			symbol = true
		}
	}
	count := 0
	for _, has := range [...]bool{lower, upper, digit, symbol} {
		if has {
			count++
		}
	}
	return count
}

// pwNormalize returns s lower-cased with Microsoft's four substitutions, one
// rune per rune of s (so one per invalid byte).
func pwNormalize(s string) []rune {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		r = unicode.ToLower(r)
		switch r {
		case '0':
			r = 'o'
		case '1':
			r = 'l'
		case '$':
			r = 's'
		case '@':
			r = 'a'
		}
		out = append(out, r)
	}
	return out
}

// pwTerm is one banned term, normalised.
type pwTerm struct {
	text  []rune
	fuzzy bool
}

// pwTerms gathers the banned terms for one check, deduplicated (a term both
// listed and a name is matched fuzzily), longest first, ties alphabetical.
func (p PasswordPolicy) pwTerms(user PasswordUser) []pwTerm {
	fuzzy := map[string]bool{}
	addListed := func(terms []string) {
		for _, t := range terms {
			norm := string(pwNormalize(strings.TrimSpace(t)))
			if norm != "" {
				fuzzy[norm] = fuzzy[norm] || utf8.RuneCountInString(norm) >= pwFuzzyMinLen
			}
		}
	}
	addName := func(name string) {
		words := strings.FieldsFunc(string(pwNormalize(name)), func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r)
		})
		for _, w := range words {
			if _, listed := fuzzy[w]; !listed && utf8.RuneCountInString(w) >= pwNameMinLen {
				fuzzy[w] = false
			}
		}
	}
	addListed(GlobalBannedPasswords)
	addListed(p.CustomBanned)
	for _, name := range p.TenantNames {
		addName(name)
	}
	local := user.UPN
	if i := strings.LastIndexByte(local, '@'); i >= 0 {
		local = local[:i]
	}
	for _, name := range [...]string{local, user.DisplayName, user.GivenName, user.Surname} {
		addName(name)
	}

	terms := make([]pwTerm, 0, len(fuzzy))
	for t, f := range fuzzy {
		terms = append(terms, pwTerm{text: []rune(t), fuzzy: f})
	}
	slices.SortFunc(terms, func(a, b pwTerm) int {
		if len(a.text) != len(b.text) {
			return len(b.text) - len(a.text)
		}
		return slices.Compare(a.text, b.text)
	})
	return terms
}

// pwScore finds the banned terms in the normalised password pw and returns
// its score and the distinct terms matched, in order of first match.
func pwScore(pw []rune, terms []pwTerm) (int, []string) {
	covered := make([]bool, len(pw))
	free := func(i, l int) bool {
		if i+l > len(pw) {
			return false
		}
		return !slices.Contains(covered[i:i+l], true)
	}
	type hit struct {
		pos  int
		term string
	}
	var hits []hit
	take := func(i, l int, t pwTerm) {
		for j := i; j < i+l; j++ {
			covered[j] = true
		}
		hits = append(hits, hit{i, string(t.text)})
	}

	for len(terms) > 0 {
		// One group of terms of the same length m: first all their exact
		// matches, then their fuzzy ones, so that "passwort" is found as
		// itself and not as "password" with a typo.
		m := len(terms[0].text)
		end := 1
		for end < len(terms) && len(terms[end].text) == m {
			end++
		}
		group := terms[:end]
		terms = terms[end:]
		for _, t := range group {
			for i := 0; i+m <= len(pw); i++ {
				if pw[i] == t.text[0] && slices.Equal(pw[i:i+m], t.text) && free(i, m) {
					take(i, m, t)
					i += m - 1
				}
			}
		}
		for _, t := range group {
			if !t.fuzzy {
				continue
			}
			t0, t1 := t.text[0], t.text[1]
			for i := 0; i < len(pw); i++ {
				// A match at i within distance 1 either starts with t0 or
				// spends its one edit on t0: a quick filter before the
				// full comparison.
				if covered[i] || (pw[i] != t0 && pw[i] != t1 &&
					(i+1 == len(pw) || (pw[i+1] != t0 && pw[i+1] != t1))) {
					continue
				}
				for _, l := range [...]int{m, m - 1, m + 1} {
					if i+l <= len(pw) && pwWithinOne(pw[i:i+l], t.text) && free(i, l) {
						take(i, l, t)
						i += l - 1
						break
					}
				}
			}
		}
	}

	slices.SortFunc(hits, func(a, b hit) int { return a.pos - b.pos })
	var matched []string
	for _, h := range hits {
		if !slices.Contains(matched, h.term) {
			matched = append(matched, h.term)
		}
	}
	remaining := map[rune]bool{}
	for i, r := range pw {
		if !covered[i] {
			remaining[r] = true
		}
	}
	return len(matched) + len(remaining), matched
}

// pwWithinOne reports whether the Levenshtein distance between s and t is at
// most 1, in O(len) time.
func pwWithinOne(s, t []rune) bool {
	if len(s) > len(t) {
		s, t = t, s
	}
	switch len(t) - len(s) {
	case 0: // at most one substitution
		diff := 0
		for i := range s {
			if s[i] != t[i] {
				if diff++; diff > 1 {
					return false
				}
			}
		}
		return true
	case 1: // t is s with one rune inserted
		i := 0
		for i < len(s) && s[i] == t[i] {
			i++
		}
		return slices.Equal(s[i:], t[i+1:])
	default:
		return false
	}
}
