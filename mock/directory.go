package mock

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/egresslab/egresslab/internal/yamlfile"
)

// Method is a verification method a user can register for SSPR.
type Method string

// The methods, as SSPR names them in its policy.
const (
	MethodEmail             Method = "email"
	MethodSMS               Method = "sms"
	MethodVoice             Method = "voice"
	MethodSecurityQuestions Method = "securityQuestions"
	MethodAppCode           Method = "appCode"
	MethodAppNotification   Method = "appNotification"
)

// Methods lists every method in the order the portal offers them.
func Methods() []Method {
	return []Method{MethodEmail, MethodSMS, MethodVoice, MethodAppNotification, MethodAppCode, MethodSecurityQuestions}
}

func (m Method) valid() bool { return slices.Contains(Methods(), m) }

// isApp reports whether m is one of the authenticator app's two methods,
// which count as one gate between them.
func (m Method) isApp() bool { return m == MethodAppCode || m == MethodAppNotification }

// SSPR scopes of a tenant.
const (
	SSPROff      = "off"      // SSPR_0009
	SSPRSelected = "selected" // only members of EnabledGroup
	SSPRAll      = "all"
)

// Writeback states of a tenant's password writeback to on-premises AD.
const (
	WritebackOff                 = "off"                   // SSPR_0010 for on-premises users
	WritebackOn                  = "on"                    // resets reach AD
	WritebackBroken              = "broken"                // SSPR_0030: the connector cannot reach AD
	WritebackAdminActionRequired = "admin-action-required" // SSPR_0029
)

// Password sources of a user.
const (
	PasswordCloud      = "cloud"
	PasswordOnPremises = "on-premises"
)

// Tenant is an Entra tenant's SSPR configuration.
type Tenant struct {
	// ID names the tenant in the directory, e.g. "contoso"; it is also
	// banned in passwords.
	ID string `json:"id" yaml:"id"`
	// Name is the display name, e.g. "Contoso Ltd"; banned in passwords.
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Domains are the UPN suffixes of the tenant's users.
	Domains []string `json:"domains" yaml:"domains"`
	// SSPR is "off", "selected" (members of EnabledGroup) or "all".
	SSPR string `json:"sspr" yaml:"sspr"`
	// EnabledGroup is the group SSPR is scoped to when SSPR is "selected";
	// without one there is no policy for anyone (SSPR_0011).
	EnabledGroup string `json:"enabledGroup,omitempty" yaml:"enabledGroup,omitempty"`
	// Gates is the number of methods required to reset: 1 or 2, required
	// unless SSPR is "off".
	Gates int `json:"gates" yaml:"gates"`
	// AllowedMethods are the methods the policy enables; empty means all.
	AllowedMethods []Method `json:"allowedMethods,omitempty" yaml:"allowedMethods,omitempty"`
	// QuestionsRequired is how many security questions the gate asks
	// (default 3).
	QuestionsRequired int `json:"questionsRequired,omitempty" yaml:"questionsRequired,omitempty"`
	// Writeback is "off", "on", "broken" or "admin-action-required".
	Writeback string `json:"writeback,omitempty" yaml:"writeback,omitempty"`
	// BannedPasswords is the tenant's custom banned-password list.
	BannedPasswords []string `json:"bannedPasswords,omitempty" yaml:"bannedPasswords,omitempty"`
}

// RedactedAnswer stands for a security answer in what the admin API
// shows. Written back (PUT of what GET gave), it keeps the answer stored
// for the same user and question text.
const RedactedAnswer = "(redacted)"

// SecurityQuestion is a registered question and its answer. Answers are
// secrets: the admin API shows them redacted.
type SecurityQuestion struct {
	// Question is the question the user registered.
	Question string `json:"question" yaml:"question"`
	// Answer is the user's answer to it.
	Answer string `json:"answer" yaml:"answer"`
}

// Registration holds a user's registered methods and their contact data.
type Registration struct {
	// Email is the registered alternate email address.
	Email string `json:"email,omitempty" yaml:"email,omitempty"`
	// SMS is the phone number that gets text messages.
	SMS string `json:"sms,omitempty" yaml:"sms,omitempty"`
	// Voice is the phone number that gets calls.
	Voice string `json:"voice,omitempty" yaml:"voice,omitempty"`
	// SecurityQuestions are the registered questions and answers.
	SecurityQuestions []SecurityQuestion `json:"securityQuestions,omitempty" yaml:"securityQuestions,omitempty"`
	// AppCode is a registered authenticator app that gives codes.
	AppCode bool `json:"appCode,omitempty" yaml:"appCode,omitempty"`
	// AppNotification is a registered authenticator app that gets notifications.
	AppNotification bool `json:"appNotification,omitempty" yaml:"appNotification,omitempty"`
}

// User is a directory user.
type User struct {
	// UPN is the user's sign-in name (user@domain).
	UPN string `json:"upn" yaml:"upn"`
	// DisplayName is the name the portal shows.
	DisplayName string `json:"displayName,omitempty" yaml:"displayName,omitempty"`
	// GivenName is the user's first name.
	GivenName string `json:"givenName,omitempty" yaml:"givenName,omitempty"`
	// Surname is the user's last name.
	Surname string `json:"surname,omitempty" yaml:"surname,omitempty"`
	// Tenant is the tenant's ID; it may be left out when the UPN's domain
	// belongs to exactly one tenant.
	Tenant string `json:"tenant,omitempty" yaml:"tenant,omitempty"`
	// Enabled, Licensed and InEnabledGroup default to true.
	Enabled *bool `json:"enabled,omitempty" yaml:"enabled,omitempty"`
	// Licensed: the user has a license that includes self-service password reset.
	Licensed *bool `json:"licensed,omitempty" yaml:"licensed,omitempty"`
	// InEnabledGroup: the user is in the tenant's group enabled for self-service password reset.
	InEnabledGroup *bool `json:"inEnabledGroup,omitempty" yaml:"inEnabledGroup,omitempty"`
	// PasswordSource is "cloud" (default) or "on-premises".
	PasswordSource string `json:"passwordSource,omitempty" yaml:"passwordSource,omitempty"`
	// Methods are the user's registered verification methods.
	Methods Registration `json:"methods" yaml:"methods"`
}

func isTrue(b *bool) bool { return b == nil || *b }

// IsEnabled, IsLicensed and IsInEnabledGroup apply the defaults (true).
func (u *User) IsEnabled() bool        { return isTrue(u.Enabled) }
func (u *User) IsLicensed() bool       { return isTrue(u.Licensed) }
func (u *User) IsInEnabledGroup() bool { return isTrue(u.InEnabledGroup) }

// Registered lists the methods the user has registered, in portal order.
func (u *User) Registered() []Method {
	var out []Method
	for _, m := range Methods() {
		if u.registered(m) {
			out = append(out, m)
		}
	}
	return out
}

func (u *User) registered(m Method) bool {
	r := u.Methods
	switch m {
	case MethodEmail:
		return r.Email != ""
	case MethodSMS:
		return r.SMS != ""
	case MethodVoice:
		return r.Voice != ""
	case MethodSecurityQuestions:
		return len(r.SecurityQuestions) > 0
	case MethodAppCode:
		return r.AppCode
	case MethodAppNotification:
		return r.AppNotification
	}
	return false
}

// redacted returns a copy with the security answers hidden.
func (u User) redacted() User {
	qs := make([]SecurityQuestion, len(u.Methods.SecurityQuestions))
	for i, q := range u.Methods.SecurityQuestions {
		qs[i] = SecurityQuestion{Question: q.Question, Answer: RedactedAnswer}
	}
	if len(qs) == 0 {
		qs = nil
	}
	u.Methods.SecurityQuestions = qs
	return u
}

// restoreRedacted replaces each RedactedAnswer in u with the answer stored
// for the same question text in old (nil: no stored user). path prefixes
// the field named in the error when there is none to restore.
func (u *User) restoreRedacted(old *User, path string) error {
	var errs []error
	for i := range u.Methods.SecurityQuestions {
		q := &u.Methods.SecurityQuestions[i]
		if q.Answer != RedactedAnswer {
			continue
		}
		found := false
		if old != nil {
			for _, oq := range old.Methods.SecurityQuestions {
				if strings.TrimSpace(oq.Question) == strings.TrimSpace(q.Question) {
					q.Answer, found = oq.Answer, true
					break
				}
			}
		}
		if !found {
			errs = append(errs, yamlfile.Field(fmt.Sprintf("%smethods.securityQuestions[%d].answer", path, i),
				"%s, but no answer is stored for this user and question: give the answer", RedactedAnswer))
		}
	}
	return errors.Join(errs...)
}

// registrationChange describes how u's registered methods differ from
// old's (nil: a new user), naming methods only, never contact data or
// answers. It returns "" when nothing changed.
func registrationChange(old, u *User) string {
	var added, changed, removed []string
	for _, m := range Methods() {
		was, is := old != nil && old.registered(m), u.registered(m)
		switch {
		case !was && is:
			added = append(added, string(m))
		case was && !is:
			removed = append(removed, string(m))
		case was && is && !sameRegistration(old, u, m):
			changed = append(changed, string(m))
		}
	}
	if len(added)+len(changed)+len(removed) == 0 {
		return ""
	}
	var now []string
	for _, m := range u.Registered() {
		now = append(now, string(m))
	}
	reason := "User's registered methods: none"
	if len(now) > 0 {
		reason = "User's registered methods: " + strings.Join(now, ", ")
	}
	var parts []string
	for _, p := range []struct {
		what string
		ms   []string
	}{{"added", added}, {"changed", changed}, {"removed", removed}} {
		if len(p.ms) > 0 {
			parts = append(parts, p.what+": "+strings.Join(p.ms, ", "))
		}
	}
	return reason + " (" + strings.Join(parts, "; ") + ")"
}

// sameRegistration reports whether m, registered for both, is registered
// with the same data.
func sameRegistration(a, b *User, m Method) bool {
	switch m {
	case MethodEmail:
		return a.Methods.Email == b.Methods.Email
	case MethodSMS:
		return a.Methods.SMS == b.Methods.SMS
	case MethodVoice:
		return a.Methods.Voice == b.Methods.Voice
	case MethodSecurityQuestions:
		return slices.Equal(a.Methods.SecurityQuestions, b.Methods.SecurityQuestions)
	}
	return true // the app's methods carry no data
}

// DirectoryData is the directory's content, as loaded from a file or
// written through the admin API.
type DirectoryData struct {
	Tenants []Tenant `json:"tenants" yaml:"tenants"`
	Users   []User   `json:"users" yaml:"users"`
}

// SecurityAnswers returns the answers of the user upn (any case) to
// questions, in their order: what the user at the sign-in screen types
// in. A question the user has no answer to is an error naming both.
func (d *DirectoryData) SecurityAnswers(upn string, questions []string) ([]string, error) {
	answers := map[string]string{}
	for _, u := range d.Users {
		if strings.EqualFold(u.UPN, upn) {
			for _, q := range u.Methods.SecurityQuestions {
				answers[q.Question] = q.Answer
			}
		}
	}
	out := make([]string, 0, len(questions))
	for _, q := range questions {
		a, ok := answers[q]
		if !ok {
			return nil, fmt.Errorf("the directory has no answer of %s to %q", upn, q)
		}
		out = append(out, a)
	}
	return out, nil
}

// LoadDirectoryFile reads a directory from a YAML or JSON file.
func LoadDirectoryFile(path string) (*DirectoryData, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load directory: %w", err)
	}
	return ParseDirectory(path, b)
}

// ParseDirectory decodes a directory strictly; errors name the file, the
// line and the field.
func ParseDirectory(name string, data []byte) (*DirectoryData, error) {
	var d DirectoryData
	if err := yamlfile.Decode(name, data, &d); err != nil {
		return nil, err
	}
	d.applyDefaults()
	return &d, nil
}

func (d *DirectoryData) applyDefaults() {
	for i := range d.Tenants {
		t := &d.Tenants[i]
		if t.QuestionsRequired == 0 {
			t.QuestionsRequired = 3
		}
		if t.Writeback == "" {
			t.Writeback = WritebackOff
		}
		for j, dom := range t.Domains {
			t.Domains[j] = strings.ToLower(dom)
		}
	}
	for i := range d.Users {
		u := &d.Users[i]
		u.UPN = strings.ToLower(strings.TrimSpace(u.UPN))
		if u.PasswordSource == "" {
			u.PasswordSource = PasswordCloud
		}
		if u.Tenant == "" {
			if t := d.tenantForDomain(domainOf(u.UPN)); t != nil {
				u.Tenant = t.ID
			}
		}
	}
}

func domainOf(upn string) string {
	_, dom, _ := strings.Cut(upn, "@")
	return strings.ToLower(dom)
}

func (d *DirectoryData) tenantForDomain(dom string) *Tenant {
	var found *Tenant
	for i := range d.Tenants {
		if slices.ContainsFunc(d.Tenants[i].Domains, func(x string) bool { return strings.EqualFold(x, dom) }) {
			if found != nil {
				return nil // ambiguous: the user must name its tenant
			}
			found = &d.Tenants[i]
		}
	}
	return found
}

// Validate checks every tenant and user and reports each problem with its
// path, e.g. "users[2].methods.securityQuestions[0].answer: empty".
func (d *DirectoryData) Validate() error {
	var errs []error
	add := func(path, format string, a ...any) { errs = append(errs, yamlfile.Field(path, format, a...)) }
	ids := map[string]bool{}
	for i, t := range d.Tenants {
		p := fmt.Sprintf("tenants[%d]", i)
		if t.ID == "" {
			add(p+".id", "required")
		} else if ids[t.ID] {
			add(p+".id", "duplicate tenant %q", t.ID)
		}
		ids[t.ID] = true
		if len(t.Domains) == 0 {
			add(p+".domains", "at least one domain is required")
		}
		for j, dom := range t.Domains {
			if dom == "" || strings.ContainsAny(dom, "@ /") {
				add(fmt.Sprintf("%s.domains[%d]", p, j), "invalid domain %q", dom)
			}
		}
		switch t.SSPR {
		case SSPROff, SSPRSelected, SSPRAll:
		case "":
			add(p+".sspr", "required: off, selected or all")
		default:
			add(p+".sspr", "unknown value %q (want off, selected or all)", t.SSPR)
		}
		switch {
		case t.Gates < 0 || t.Gates > 2:
			add(p+".gates", "must be 1 or 2, got %d", t.Gates)
		case t.Gates == 0 && (t.SSPR == SSPRSelected || t.SSPR == SSPRAll):
			add(p+".gates", "required when sspr is %q: 1 or 2", t.SSPR)
		}
		for j, m := range t.AllowedMethods {
			if !m.valid() {
				add(fmt.Sprintf("%s.allowedMethods[%d]", p, j), "unknown method %q (want one of %s)", m, methodNames())
			}
		}
		if t.QuestionsRequired < 0 || t.QuestionsRequired > 5 {
			add(p+".questionsRequired", "must be 1 to 5, got %d", t.QuestionsRequired)
		}
		switch t.Writeback {
		case "", WritebackOff, WritebackOn, WritebackBroken, WritebackAdminActionRequired:
		default:
			add(p+".writeback", "unknown value %q (want off, on, broken or admin-action-required)", t.Writeback)
		}
	}
	upns := map[string]bool{}
	for i, u := range d.Users {
		p := fmt.Sprintf("users[%d]", i)
		upn := strings.ToLower(strings.TrimSpace(u.UPN))
		local, dom, ok := strings.Cut(upn, "@")
		switch {
		case upn == "":
			add(p+".upn", "required")
		case !ok || local == "" || dom == "" || strings.ContainsAny(upn, " /"):
			add(p+".upn", "not a user principal name (user@domain): %q", u.UPN)
		case upns[upn]:
			add(p+".upn", "duplicate user %q", upn)
		}
		upns[upn] = true
		if u.Tenant != "" && !ids[u.Tenant] {
			add(p+".tenant", "unknown tenant %q", u.Tenant)
		} else if u.Tenant == "" && ok && dom != "" && d.tenantForDomain(dom) == nil {
			add(p+".tenant", "no tenant owns domain %q (or several do): name the tenant", dom)
		}
		switch u.PasswordSource {
		case "", PasswordCloud, PasswordOnPremises:
		default:
			add(p+".passwordSource", "unknown value %q (want cloud or on-premises)", u.PasswordSource)
		}
		for j, q := range u.Methods.SecurityQuestions {
			qp := fmt.Sprintf("%s.methods.securityQuestions[%d]", p, j)
			if strings.TrimSpace(q.Question) == "" {
				add(qp+".question", "empty")
			}
			if strings.TrimSpace(q.Answer) == "" {
				add(qp+".answer", "empty")
			}
		}
		if r := u.Methods; r.Email != "" && !strings.Contains(r.Email, "@") {
			add(p+".methods.email", "not an email address: %q", r.Email)
		}
	}
	return errors.Join(errs...)
}

func methodNames() string {
	var s []string
	for _, m := range Methods() {
		s = append(s, string(m))
	}
	return strings.Join(s, ", ")
}
