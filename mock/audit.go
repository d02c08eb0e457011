package mock

import (
	"sync"
	"time"
)

// Audit log values, as Entra writes them for SSPR. The service records the
// first four activities: Reset, Progress and Blocked in the reset flow,
// Registered when the directory (SetDirectory, PutUser) adds or changes a
// user's registered methods. It never records ActivityUnlock or
// ActivityChange: unlocking an on-premises account without a reset and a
// signed-in user changing their password are flows of their own, which the
// mock does not serve.
const (
	AuditService  = "Self-service Password Management"
	AuditCategory = "UserManagement"

	ActivityReset      = "Reset password (self-service)"
	ActivityProgress   = "Self-service password reset flow activity progress"
	ActivityBlocked    = "Blocked from self-service password reset"
	ActivityRegistered = "User registered for self-service password reset"
	ActivityUnlock     = "Unlock user account (self-service)" // not recorded by the mock
	ActivityChange     = "Change password (self-service)"     // not recorded by the mock

	ResultSuccess = "Success"
	ResultFailure = "Failure"
)

// Client types recorded in the audit log, from the request.
const (
	ClientBrowser       = "browser"
	ClientWindowsLogon  = "windows-logon"  // the Windows 10/11 sign-in screen
	ClientWindows7Addin = "windows7-addin" // the Windows 7/8/8.1 sign-in add-in
)

// AuditEntry is one audit record. It never holds a password, a code or a
// security answer. Registration entries come from the directory, not from
// a client: their ClientIP and ClientType are empty.
type AuditEntry struct {
	ID            int       `json:"id"`
	Time          time.Time `json:"time"`
	Service       string    `json:"service"`
	Category      string    `json:"category"`
	Activity      string    `json:"activity"`
	Result        string    `json:"result"`
	ResultReason  string    `json:"resultReason"`
	TargetUser    string    `json:"targetUser"`
	ClientIP      string    `json:"clientIp"`
	ClientType    string    `json:"clientType"`
	CorrelationID string    `json:"correlationId"`
}

// AuditLog holds the audit entries, up to the retention's limit
// ([Retention].AuditEntries): over it, the oldest entry goes. Entries are
// filed by target user, so that reading a user's costs the same however
// many were recorded. It is safe for concurrent use.
type AuditLog struct {
	mu      sync.Mutex
	limit   int // 0: no limit
	lastID  int
	entries fifo[*AuditEntry]             // oldest first
	byUser  map[string]*fifo[*AuditEntry] // by TargetUser, oldest first
	dropped int
}

func (l *AuditLog) add(e AuditEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byUser == nil {
		l.byUser = map[string]*fifo[*AuditEntry]{}
	}
	for l.limit > 0 && l.entries.len() >= l.limit {
		old := l.entries.pop()
		popIndex(l.byUser, old.TargetUser, old)
		l.dropped++
	}
	l.lastID++
	e.ID = l.lastID
	e.Service, e.Category = AuditService, AuditCategory
	p := &e
	l.entries.push(p)
	pushIndex(l.byUser, e.TargetUser, p)
}

// Entries returns the entries kept about upn ("" for all), oldest first.
func (l *AuditLog) Entries(upn string) []AuditEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	if upn == "" {
		return copyOut(&l.entries)
	}
	return copyOut(l.byUser[upn])
}

// stats returns how many entries are kept and how many the limit dropped.
func (l *AuditLog) stats() (kept, dropped int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.entries.len(), l.dropped
}
