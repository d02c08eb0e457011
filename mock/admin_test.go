package mock_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/mock"
)

func TestAdminDirectory(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	var d mock.DirectoryData
	require.Equal(t, http.StatusOK, l.adminDo(t, http.MethodGet, "/directory", nil, &d))
	assert.Len(t, d.Tenants, 7)
	for _, u := range d.Users {
		for _, q := range u.Methods.SecurityQuestions {
			assert.Equal(t, "(redacted)", q.Answer, "answers never leave through the admin API")
		}
	}
	var quinn mock.User
	require.Equal(t, http.StatusOK, l.adminDo(t, http.MethodGet, "/users/Quinn@contoso.com", nil, &quinn))
	assert.Equal(t, "(redacted)", quinn.Methods.SecurityQuestions[0].Answer)

	// Add a user, use it, remove it.
	require.Equal(t, http.StatusNoContent, l.adminDo(t, http.MethodPut, "/users/new@contoso.com", mock.User{Methods: mock.Registration{Email: "new@outlook.example"}}, nil))
	assert.Equal(t, mock.StepVerify, l.begin(t, "new@contoso.com").View.Step)
	require.Equal(t, http.StatusNoContent, l.adminDo(t, http.MethodDelete, "/users/new@contoso.com", nil, nil))
	assert.Equal(t, mock.CodeUserNotFound, l.begin(t, "new@contoso.com").View.Code)
	assert.Equal(t, http.StatusNotFound, l.adminDo(t, http.MethodDelete, "/users/new@contoso.com", nil, nil))

	// Turn SSPR off for the tenant at run time.
	var contoso mock.Tenant
	for _, tn := range d.Tenants {
		if tn.ID == "contoso" {
			contoso = tn
		}
	}
	contoso.SSPR = mock.SSPROff
	require.Equal(t, http.StatusNoContent, l.adminDo(t, http.MethodPut, "/tenants/contoso", contoso, nil))
	assert.Equal(t, "SSPR_0009", l.begin(t, "adele@contoso.com").View.Code)

	// Invalid changes are refused whole, naming the field.
	var e struct {
		Error struct{ Kind, Message string }
	}
	assert.Equal(t, http.StatusUnprocessableEntity, l.adminDo(t, http.MethodPut, "/users/x@contoso.com", mock.User{Tenant: "nowhere"}, &e))
	assert.Regexp(t, `users\[\d+\]\.tenant: unknown tenant "nowhere"`, e.Error.Message)
	assert.Equal(t, http.StatusBadRequest, l.adminDo(t, http.MethodPut, "/users/x@contoso.com", mock.User{UPN: "y@contoso.com"}, &e))
	assert.Contains(t, e.Error.Message, "path names")
	assert.Equal(t, http.StatusConflict, l.adminDo(t, http.MethodDelete, "/tenants/contoso", nil, &e))
	assert.Contains(t, e.Error.Message, "still has users")
	bad := mock.DirectoryData{Tenants: []mock.Tenant{{ID: "t", Domains: []string{"t.example"}, SSPR: "sometimes", Gates: 3}}}
	assert.Equal(t, http.StatusUnprocessableEntity, l.adminDo(t, http.MethodPut, "/directory", bad, &e))
	assert.Contains(t, e.Error.Message, `tenants[0].sspr: unknown value "sometimes"`)
	assert.Contains(t, e.Error.Message, "tenants[0].gates: must be 1 or 2")
	require.Equal(t, http.StatusOK, l.adminDo(t, http.MethodGet, "/directory", nil, &d))
	assert.Len(t, d.Tenants, 7, "nothing changed")
}

func TestAdminOutboxAuditClock(t *testing.T) {
	t.Parallel()
	clock := fixedClock()
	l := newLab(t, mock.WithClock(clock))
	v := l.begin(t, "adele@contoso.com", mock.ClientTypeHeader, mock.ClientWindowsLogon).View
	l.send(t, v.FlowToken, mock.MethodEmail)

	var msgs []mock.Message
	require.Equal(t, http.StatusOK, l.adminDo(t, http.MethodGet, "/outbox?upn=ADELE@contoso.com", nil, &msgs))
	require.Len(t, msgs, 1)
	assert.Equal(t, mock.MethodEmail, msgs[0].Channel)
	assert.Len(t, msgs[0].Code, 6)
	require.Equal(t, http.StatusNoContent, l.adminDo(t, http.MethodDelete, "/outbox", nil, nil))
	require.Equal(t, http.StatusOK, l.adminDo(t, http.MethodGet, "/outbox", nil, &msgs))
	assert.Empty(t, msgs)

	var entries []mock.AuditEntry
	require.Equal(t, http.StatusOK, l.adminDo(t, http.MethodGet, "/audit?upn=adele@contoso.com&activity="+strings.ReplaceAll(mock.ActivityProgress, " ", "+"), nil, &entries))
	require.NotEmpty(t, entries)
	assert.Equal(t, mock.ClientWindowsLogon, entries[0].ClientType)
	assert.Equal(t, time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC), entries[0].Time.UTC(), "audit times follow the lab's clock")

	var st struct {
		Now    time.Time
		Frozen bool
	}
	require.Equal(t, http.StatusOK, l.adminDo(t, http.MethodPost, "/clock", map[string]string{"advance": "25h"}, &st))
	assert.Equal(t, time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), st.Now.UTC())
	assert.True(t, st.Frozen)
	require.Equal(t, http.StatusOK, l.adminDo(t, http.MethodPost, "/clock", map[string]string{"set": "2027-01-01T00:00:00Z"}, &st))
	assert.Equal(t, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), st.Now.UTC())
	assert.Equal(t, http.StatusBadRequest, l.adminDo(t, http.MethodPost, "/clock", map[string]string{"advance": "soon"}, nil))
	assert.Equal(t, http.StatusBadRequest, l.adminDo(t, http.MethodPost, "/clock", map[string]string{}, nil))
	require.Equal(t, http.StatusOK, l.adminDo(t, http.MethodPost, "/clock", map[string]bool{"freeze": false}, &st))
	assert.False(t, st.Frozen)

	var code struct{ Code string }
	require.Equal(t, http.StatusOK, l.adminDo(t, http.MethodGet, "/authenticator/alex@fabrikam.com", nil, &code))
	assert.Regexp(t, `^\d{6}$`, code.Code)
}

// TestAdminNotReachableThroughPortal: the admin API is served only by its
// own handler.
func TestAdminNotReachableThroughPortal(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	for _, p := range []string{"/directory", "/outbox", "/audit", "/clock"} {
		resp, err := l.api.Client().Get(l.api.URL + mock.AdminPrefix + p)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, p)
	}
	assert.Equal(t, http.StatusNotFound, l.adminDo(t, http.MethodGet, "/nothing", nil, nil))
	assert.Equal(t, http.StatusMethodNotAllowed, l.adminDo(t, http.MethodPatch, "/directory", nil, nil))
}

func TestNewOptions(t *testing.T) {
	t.Parallel()
	for name, opt := range map[string]mock.Option{
		"nil clock":       mock.WithClock(nil),
		"zero TTL":        mock.WithFlowTTL(0),
		"bad CDN base":    mock.WithCDNBase("ftp://cdn"),
		"nil logger":      mock.WithLogger(nil),
		"nil directory":   mock.WithDirectory(nil),
		"invalid tenants": mock.WithDirectory(&mock.DirectoryData{Tenants: []mock.Tenant{{ID: "x"}}}),
	} {
		_, err := mock.New(opt)
		assert.Error(t, err, name)
	}
	s, err := mock.New(mock.WithFlowTTL(time.Minute), mock.WithCDNBase("https://cdn.example/"))
	require.NoError(t, err)
	assert.Empty(t, s.Directory().Users)
}

// TestUserRemovedDuringFlow: a flow whose user disappears from the
// directory ends each call with a clear conflict, never a crash.
func TestUserRemovedDuringFlow(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	v := l.begin(t, "adele@contoso.com").View
	require.Equal(t, mock.StepVerify, v.Step)
	require.True(t, l.svc.DeleteUser("adele@contoso.com"))
	for name, r := range map[string]apiResult{
		"send":     l.send(t, v.FlowToken, mock.MethodEmail),
		"verify":   l.verify(t, v.FlowToken, mock.MethodEmail, "123456"),
		"password": l.password(t, v.FlowToken, strongPassword),
	} {
		assert.Equal(t, http.StatusConflict, r.Status, name)
		assert.Equal(t, "user-removed", r.Err.Kind, name)
	}
}

func TestAdminGetTenant(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	var got mock.Tenant
	require.Equal(t, http.StatusOK, l.adminDo(t, http.MethodGet, "/tenants/fabrikam", nil, &got))
	assert.Equal(t, mock.Tenant{ID: "fabrikam", Name: "Fabrikam", Domains: []string{"fabrikam.com"}, SSPR: mock.SSPRSelected,
		EnabledGroup: "SSPR Users", Gates: 2, QuestionsRequired: 3, Writeback: mock.WritebackOff}, got, "with its defaults")

	// What GET gives, PUT takes back.
	got.Gates = 1
	require.Equal(t, http.StatusNoContent, l.adminDo(t, http.MethodPut, "/tenants/fabrikam", got, nil))
	var again mock.Tenant
	require.Equal(t, http.StatusOK, l.adminDo(t, http.MethodGet, "/tenants/fabrikam", nil, &again))
	assert.Equal(t, got, again)

	var e struct {
		Error struct{ Kind, Message string }
	}
	assert.Equal(t, http.StatusNotFound, l.adminDo(t, http.MethodGet, "/tenants/nowhere", nil, &e))
	assert.Equal(t, "not-found", e.Error.Kind)
	assert.Equal(t, "no tenant nowhere", e.Error.Message)
}

// TestAdminRegistrationAudit: adding or changing a user's methods through
// the admin API records "User registered for self-service password
// reset", naming methods and never contact data or answers; the starting
// directory and unchanged users record nothing.
func TestAdminRegistrationAudit(t *testing.T) {
	t.Parallel()
	l := newLab(t, mock.WithClock(fixedClock()))
	registered := func(upn string) []mock.AuditEntry {
		var out []mock.AuditEntry
		require.Equal(t, http.StatusOK, l.adminDo(t, http.MethodGet, "/audit?upn="+upn+"&activity="+url.QueryEscape(mock.ActivityRegistered), nil, &out))
		return out
	}
	assert.Empty(t, registered(""), "the starting directory is not a registration")

	// A new user.
	require.Equal(t, http.StatusNoContent, l.adminDo(t, http.MethodPut, "/users/new@contoso.com", mock.User{Methods: mock.Registration{Email: "new@outlook.example"}}, nil))
	got := registered("new@contoso.com")
	require.Len(t, got, 1)
	assert.Equal(t, mock.ResultSuccess, got[0].Result)
	assert.Equal(t, mock.AuditService, got[0].Service)
	assert.Equal(t, "User's registered methods: email (added: email)", got[0].ResultReason)
	assert.NotEmpty(t, got[0].CorrelationID)

	// Quinn adds a phone, changes an answer and keeps the others.
	var quinn mock.User
	require.Equal(t, http.StatusOK, l.adminDo(t, http.MethodGet, "/users/quinn@contoso.com", nil, &quinn))
	quinn.Methods.SMS = "+351 912345678"
	quinn.Methods.SecurityQuestions[1].Answer = "Pickles"
	require.Equal(t, http.StatusNoContent, l.adminDo(t, http.MethodPut, "/users/quinn@contoso.com", quinn, nil))
	got = registered("quinn@contoso.com")
	require.Len(t, got, 1)
	assert.Equal(t, "User's registered methods: email, sms, securityQuestions (added: sms; changed: securityQuestions)", got[0].ResultReason)

	// The whole directory back as GET gave it: nothing changed. Then
	// adele loses her voice number.
	var d mock.DirectoryData
	require.Equal(t, http.StatusOK, l.adminDo(t, http.MethodGet, "/directory", nil, &d))
	require.Equal(t, http.StatusNoContent, l.adminDo(t, http.MethodPut, "/directory", d, nil))
	assert.Len(t, registered(""), 2, "an unchanged directory records nothing")
	for i := range d.Users {
		if d.Users[i].UPN == "adele@contoso.com" {
			d.Users[i].Methods.Voice = ""
		}
	}
	require.Equal(t, http.StatusNoContent, l.adminDo(t, http.MethodPut, "/directory", d, nil))
	got = registered("adele@contoso.com")
	require.Len(t, got, 1)
	assert.Equal(t, "User's registered methods: email, sms (removed: voice)", got[0].ResultReason)

	audit, err := json.Marshal(l.svc.Audit().Entries(""))
	require.NoError(t, err)
	for _, secret := range []string{"+351", "912345678", "Pickles", "new@outlook.example", "4255550101"} {
		assert.NotContains(t, string(audit), secret)
	}
}

// TestAdminRedactedRoundTrip: what GET gives, PUT takes back: a
// "(redacted)" answer keeps the stored one, and the user can still answer.
// Without a stored answer for that user and question, it is a 422 naming
// the field.
func TestAdminRedactedRoundTrip(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	const upn = "quinn@contoso.com"
	var d mock.DirectoryData
	require.Equal(t, http.StatusOK, l.adminDo(t, http.MethodGet, "/directory", nil, &d))
	require.Equal(t, http.StatusNoContent, l.adminDo(t, http.MethodPut, "/directory", d, nil))
	var quinn mock.User
	require.Equal(t, http.StatusOK, l.adminDo(t, http.MethodGet, "/users/"+upn, nil, &quinn))
	require.Equal(t, mock.RedactedAnswer, quinn.Methods.SecurityQuestions[0].Answer)
	require.Equal(t, http.StatusNoContent, l.adminDo(t, http.MethodPut, "/users/"+upn, quinn, nil))

	v := l.begin(t, upn).View
	l.send(t, v.FlowToken, mock.MethodSecurityQuestions)
	r := l.verify(t, v.FlowToken, mock.MethodSecurityQuestions, "", "Lisbon", "Biscuit", "Q")
	assert.Equal(t, mock.StepPassword, r.View.Step, "the stored answers were kept: %s", r.Raw)

	var e struct {
		Error struct{ Kind, Message, Field string }
	}
	quinn.Methods.SecurityQuestions[2].Question = "What was your first car?"
	assert.Equal(t, http.StatusUnprocessableEntity, l.adminDo(t, http.MethodPut, "/users/"+upn, quinn, &e))
	assert.Equal(t, "methods.securityQuestions[2].answer", e.Error.Field)
	assert.Contains(t, e.Error.Message, "no answer is stored for this user and question")

	d.Users = append(d.Users, mock.User{UPN: "copy@contoso.com", Methods: mock.Registration{SecurityQuestions: quinn.Methods.SecurityQuestions[:1]}})
	assert.Equal(t, http.StatusUnprocessableEntity, l.adminDo(t, http.MethodPut, "/directory", d, &e))
	assert.Equal(t, fmt.Sprintf("users[%d].methods.securityQuestions[0].answer", len(d.Users)-1), e.Error.Field, "another user's answer is not borrowed")
	l.assertNoSecrets(t, "Lisbon", "Biscuit")
}
