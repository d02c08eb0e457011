package mock_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/mock"
)

// contosoPolicy is the policy of Microsoft's documented examples: "contoso"
// is the tenant's name and "blank" is on its custom list.
var contosoPolicy = mock.PasswordPolicy{
	TenantNames:  []string{"Contoso"},
	CustomBanned: []string{"blank"},
}

var passwordReasons = []string{
	mock.PasswordOK, mock.PasswordTooShort, mock.PasswordTooLong,
	mock.PasswordTooSimple, mock.PasswordBanned,
}

func TestPasswordPolicy_Check(t *testing.T) {
	t.Parallel()
	kowalski := mock.PasswordUser{
		UPN:         "anna.kowalski@contoso.com",
		DisplayName: "Anna Kowalski",
		GivenName:   "Anna",
		Surname:     "Kowalski",
	}
	tests := map[string]struct {
		policy      mock.PasswordPolicy
		user        mock.PasswordUser
		password    string
		wantReason  string
		wantScore   int
		wantMatched []string
	}{
		// Microsoft's documented examples.
		"documented P@ssw0rd1": {
			policy: contosoPolicy, password: "P@ssw0rd1",
			wantReason: mock.PasswordBanned, wantScore: 2, wantMatched: []string{"password"},
		},
		"documented Contoso!1": {
			policy: contosoPolicy, password: "Contoso!1",
			wantReason: mock.PasswordBanned, wantScore: 3, wantMatched: []string{"contoso"},
		},
		"documented C0ntos0Blank12": {
			policy: contosoPolicy, password: "C0ntos0Blank12",
			wantReason: mock.PasswordBanned, wantScore: 4, wantMatched: []string{"contoso", "blank"},
		},
		"documented ContoS0Bl@nkf9!": {
			policy: contosoPolicy, password: "ContoS0Bl@nkf9!",
			wantReason: mock.PasswordOK, wantScore: 5, wantMatched: []string{"contoso", "blank"},
		},
		"documented ContosoBlankf9!": {
			policy: contosoPolicy, password: "ContosoBlankf9!",
			wantReason: mock.PasswordOK, wantScore: 5, wantMatched: []string{"contoso", "blank"},
		},

		// Strong and weak passwords.
		"strong random password": {
			policy: contosoPolicy, user: kowalski, password: "q7#Vx!2Lm9$Rt@4k",
			wantReason: mock.PasswordOK, wantScore: 16,
		},
		"Password1!": {
			password:   "Password1!",
			wantReason: mock.PasswordBanned, wantScore: 3, wantMatched: []string{"password"},
		},
		"substitution at edit distance 1": {
			password:   "Passwerd1!",
			wantReason: mock.PasswordBanned, wantScore: 3, wantMatched: []string{"password"},
		},
		"deletion at edit distance 1": {
			password:   "Pssword9!",
			wantReason: mock.PasswordBanned, wantScore: 3, wantMatched: []string{"password"},
		},
		"insertion at edit distance 1": {
			password:   "Passsword9!",
			wantReason: mock.PasswordBanned, wantScore: 3, wantMatched: []string{"password"},
		},
		"edit distance 2 is not a match": {
			password:   "Paxxword!9",
			wantReason: mock.PasswordOK, wantScore: 9,
		},
		"custom term matches fuzzily": {
			policy: contosoPolicy, password: "Blonk!9Q",
			wantReason: mock.PasswordBanned, wantScore: 4, wantMatched: []string{"blank"},
		},
		"documented fuzzy example": {
			password:   "Abcdeg!9",
			wantReason: mock.PasswordBanned, wantScore: 3, wantMatched: []string{"abcdef"},
		},
		"a banned term repeated counts once": {
			password:   "PasswordPassword!9",
			wantReason: mock.PasswordBanned, wantScore: 3, wantMatched: []string{"password"},
		},
		"remaining characters count once each": {
			password:   "Zzzzzzzz9!",
			wantReason: mock.PasswordBanned, wantScore: 3,
		},
		"banned term with enough else passes": {
			password:   "Summer#2024xQ",
			wantReason: mock.PasswordOK, wantScore: 7, wantMatched: []string{"summer"},
		},

		// The user's and the tenant's names.
		"surname inside the password": {
			user: kowalski, password: "xKowalski#2",
			wantReason: mock.PasswordBanned, wantScore: 4, wantMatched: []string{"kowalski"},
		},
		"surname with a short suffix": {
			user: kowalski, password: "Kowalski#24",
			wantReason: mock.PasswordBanned, wantScore: 4, wantMatched: []string{"kowalski"},
		},
		"surname normalised": {
			user: kowalski, password: "K0wa1ski#24",
			wantReason: mock.PasswordBanned, wantScore: 4, wantMatched: []string{"kowalski"},
		},
		"given name and surname": {
			user: kowalski, password: "AnnaKowalski99!",
			wantReason: mock.PasswordBanned, wantScore: 4, wantMatched: []string{"anna", "kowalski"},
		},
		"user name is exact only": {
			user: kowalski, password: "Kowalsky#24",
			wantReason: mock.PasswordOK, wantScore: 10,
		},
		"UPN local part split on dots": {
			user: mock.PasswordUser{UPN: "j_doe.tester-x@contoso.com"}, password: "Tester#24",
			wantReason: mock.PasswordBanned, wantScore: 4, wantMatched: []string{"tester"},
		},
		"UPN domain is not a name": {
			user: mock.PasswordUser{UPN: "jd@fabrikam.com"}, password: "Fabrikam#24",
			wantReason: mock.PasswordOK, wantScore: 10,
		},
		"display name parts": {
			user: mock.PasswordUser{DisplayName: "Jean-Luc Picard (Sales)"}, password: "Picard#Sales7",
			wantReason: mock.PasswordBanned, wantScore: 4, wantMatched: []string{"picard", "sales"},
		},
		"name parts under 3 characters ignored": {
			user: mock.PasswordUser{GivenName: "Al", Surname: "Xu"}, password: "AlXu#9qmT",
			wantReason: mock.PasswordOK, wantScore: 9,
		},
		// Microsoft's documentation calls this one rejected, but by its own
		// score rule it has [pol] + l, 2, 3, f, b = 6 points.
		"3-character name part banned": {
			user: mock.PasswordUser{GivenName: "Pol"}, password: "P0l123fb",
			wantReason: mock.PasswordOK, wantScore: 6, wantMatched: []string{"pol"},
		},
		"3-character name part, too little else": {
			user: mock.PasswordUser{GivenName: "Pol"}, password: "P0l12#Pol",
			wantReason: mock.PasswordBanned, wantScore: 4, wantMatched: []string{"pol"},
		},
		"tenant name is exact only": {
			policy: contosoPolicy, password: "Contaso!9Q",
			wantReason: mock.PasswordOK, wantScore: 9,
		},
		"short custom term is exact only": {
			policy: mock.PasswordPolicy{CustomBanned: []string{"zq7"}}, password: "Zq8#Lm4!pR",
			wantReason: mock.PasswordOK, wantScore: 10,
		},
		"short custom term exact": {
			policy: mock.PasswordPolicy{CustomBanned: []string{"zq7"}}, password: "Zq7#Lm4!pR",
			wantReason: mock.PasswordOK, wantScore: 8, wantMatched: []string{"zq7"},
		},

		// Length and classes.
		"empty": {
			password: "", wantReason: mock.PasswordTooShort,
		},
		"7 characters": {
			password: "Xq7!mR2", wantReason: mock.PasswordTooShort,
		},
		"8 characters": {
			password: "Xq7!mR2#", wantReason: mock.PasswordOK, wantScore: 8,
		},
		"256 characters": {
			password: strings.Repeat("Xq7!mR2#", 32), wantReason: mock.PasswordOK, wantScore: 8,
		},
		"257 characters": {
			password: strings.Repeat("Xq7!mR2#", 32) + "k", wantReason: mock.PasswordTooLong,
		},
		"custom minimum": {
			policy:   mock.PasswordPolicy{MinLength: 12},
			password: "Xq7!mR2#kLw", wantReason: mock.PasswordTooShort,
		},
		"custom maximum": {
			policy:   mock.PasswordPolicy{MaxLength: 10},
			password: "Xq7!mR2#kLw", wantReason: mock.PasswordTooLong,
		},
		"length counts runes, not bytes": {
			policy:   mock.PasswordPolicy{MinLength: 10},
			password: "Жq7!mR2#й", wantReason: mock.PasswordTooShort,
		},
		"lower and digits only": {
			password: "xq7mr2kw9", wantReason: mock.PasswordTooSimple,
		},
		"upper and symbols only": {
			password: "XQ!MR#KW?", wantReason: mock.PasswordTooSimple,
		},
		"white space is not a symbol": {
			password: "xq mr KW pt", wantReason: mock.PasswordTooSimple,
		},
		"unicode letters count by case": {
			password: "Жюль#Верн9", wantReason: mock.PasswordOK, wantScore: 10,
		},
		"caseless letters count for no class": {
			password: "東京大阪名古屋#9", wantReason: mock.PasswordTooSimple,
		},
		"invalid UTF-8 counts one character per byte": {
			password: "\xff\xfe\xfdAb1", wantReason: mock.PasswordTooShort,
		},
		"invalid UTF-8 bytes are symbols": {
			password: "\xff\xff\xff\xffAb9x", wantReason: mock.PasswordOK, wantScore: 5,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			v := tc.policy.Check(tc.password, tc.user)
			assert.Equal(t, tc.wantReason, v.Reason)
			assert.Equal(t, tc.wantReason == mock.PasswordOK, v.OK)
			assert.Equal(t, tc.wantScore, v.Score)
			assert.Equal(t, tc.wantMatched, v.Matched)
			if tc.password != "" {
				assert.NotContains(t, fmt.Sprintf("%#v", v), tc.password, "the verdict holds the password")
			}
		})
	}
}

func TestPasswordPolicy_Check_longInput(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("Xq7!mR2#", 1<<17) // 1 MiB
	tests := map[string]struct {
		policy     mock.PasswordPolicy
		password   string
		wantReason string
		limit      time.Duration
	}{
		"1 MiB, default maximum": {
			password: huge, wantReason: mock.PasswordTooLong, limit: time.Second,
		},
		"1 MiB of invalid UTF-8": {
			password: strings.Repeat("\xff", 1<<20), wantReason: mock.PasswordTooLong, limit: time.Second,
		},
		// With the maximum lifted the banned-password check runs over all of
		// it: linear in the length, so seconds at most even under -race.
		"64 KiB, maximum lifted": {
			policy:   mock.PasswordPolicy{MaxLength: 1 << 20, TenantNames: []string{"contoso"}},
			password: huge[:1<<16], wantReason: mock.PasswordOK, limit: 20 * time.Second,
		},
		"64 KiB of near misses, maximum lifted": {
			policy:   mock.PasswordPolicy{MaxLength: 1 << 20},
			password: strings.Repeat("Passw!rx", 1<<13), wantReason: mock.PasswordBanned, limit: 20 * time.Second,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			v := tc.policy.Check(tc.password, mock.PasswordUser{Surname: "Kowalski"})
			assert.Less(t, time.Since(start), tc.limit)
			assert.Equal(t, tc.wantReason, v.Reason)
		})
	}
}

func TestGlobalBannedPasswords(t *testing.T) {
	t.Parallel()
	list := mock.GlobalBannedPasswords
	require.GreaterOrEqual(t, len(list), 40)
	assert.LessOrEqual(t, len(list), 80)
	seen := map[string]bool{}
	for _, term := range list {
		assert.False(t, seen[term], "duplicate %q", term)
		seen[term] = true
		assert.GreaterOrEqual(t, utf8.RuneCountInString(term), 4, "%q is too short to match fuzzily", term)
		assert.Equal(t, strings.ToLower(term), term, "%q is not lower case", term)
		assert.NotContains(t, term, "0", "%q is not normalised", term)
		assert.NotContains(t, term, "1", "%q is not normalised", term)
		assert.NotContains(t, term, "$", "%q is not normalised", term)
		assert.NotContains(t, term, "@", "%q is not normalised", term)
	}
	// Each term is banned on its own: written as a password, it fails.
	for _, term := range list {
		v := mock.PasswordPolicy{}.Check(term+"!9X", mock.PasswordUser{})
		assert.Equal(t, mock.PasswordBanned, v.Reason, term)
		assert.Contains(t, v.Matched, term)
	}
}

func TestPasswordPolicy_Check_concurrent(t *testing.T) {
	t.Parallel()
	want := contosoPolicy.Check("ContosoBlankf9!", mock.PasswordUser{})
	done := make(chan mock.PasswordVerdict)
	for range 8 {
		go func() { done <- contosoPolicy.Check("ContosoBlankf9!", mock.PasswordUser{}) }()
	}
	for range 8 {
		assert.Equal(t, want, <-done)
	}
}

func ExamplePasswordPolicy_Check() {
	policy := mock.PasswordPolicy{
		TenantNames:  []string{"Contoso"},
		CustomBanned: []string{"blank"},
	}
	user := mock.PasswordUser{UPN: "pol.smith@contoso.com", GivenName: "Pol", Surname: "Smith"}
	for _, password := range []string{"P@ssw0rd1", "Contoso!1", "ContosoBlankf9!", "Smith2024", "Qx7#mR2!kL", "short"} {
		v := policy.Check(password, user)
		fmt.Println(v.OK, v.Reason, v.Score, v.Matched)
	}
	// Output:
	// false FuzzyPolicyViolationInvalidPassword 2 [password]
	// false FuzzyPolicyViolationInvalidPassword 3 [contoso]
	// true ok 5 [contoso blank]
	// false FuzzyPolicyViolationInvalidPassword 4 [smith]
	// true ok 10 []
	// false too-short 0 []
}

func FuzzPasswordCheck(f *testing.F) {
	f.Add("P@ssw0rd1", "Contoso", "blank", "Kowalski", 0)
	f.Add("ContosoBlankf9!", "Contoso", "blank", "Kowalski", 0)
	f.Add("Passwerd1!", "", "", "", 0)
	f.Add("", "", "", "", 0)
	f.Add("\xff\xfe\xfdAb1xyz", "\xff", "\xfe\xfd", "a", 3)
	f.Add("Жюль#Верн9", "Верн", "жюль", "Ж", 10)
	f.Add(strings.Repeat("Xq7!mR2#", 40), "mR2", "q7!m", "Xq", 1000)
	f.Fuzz(func(t *testing.T, password, tenant, custom, surname string, maxLen int) {
		policy := mock.PasswordPolicy{
			MaxLength:    maxLen % 2048,
			TenantNames:  []string{tenant},
			CustomBanned: strings.Fields(custom),
		}
		user := mock.PasswordUser{UPN: surname + "@contoso.com", DisplayName: tenant + " " + surname, Surname: surname}
		v := policy.Check(password, user)
		require.Contains(t, passwordReasons, v.Reason)
		assert.Equal(t, v.Reason == mock.PasswordOK, v.OK)
		assert.GreaterOrEqual(t, v.Score, 0)
		assert.LessOrEqual(t, v.Score, utf8.RuneCountInString(password))
		switch v.Reason {
		case mock.PasswordOK:
			assert.GreaterOrEqual(t, v.Score, 5)
		case mock.PasswordBanned:
			assert.Less(t, v.Score, 5)
		default:
			assert.Zero(t, v.Score)
			assert.Empty(t, v.Matched)
		}
		for _, m := range v.Matched {
			assert.Equal(t, strings.ToLower(m), m)
			assert.False(t, strings.ContainsAny(m, "01$@"), "%q is not normalised", m)
		}
		assert.Equal(t, len(v.Matched), len(slices.Compact(slices.Clone(v.Matched))), "a term listed twice")
		assert.Equal(t, v, policy.Check(password, user), "not deterministic")
	})
}
