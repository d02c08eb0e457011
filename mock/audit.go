package mock

import (
	"sync"
	"time"
)

// Audit log values, as Entra writes them for SSPR.
const (
	AuditService  = "Self-service Password Management"
	AuditCategory = "UserManagement"

	ActivityReset      = "Reset password (self-service)"
	ActivityProgress   = "Self-service password reset flow activity progress"
	ActivityBlocked    = "Blocked from self-service password reset"
	ActivityUnlock     = "Unlock user account (self-service)"
	ActivityRegistered = "User registered for self-service password reset"
	ActivityChange     = "Change password (self-service)"

	ResultSuccess = "Success"
	ResultFailure = "Failure"
)

// Client types recorded in the audit log, from the request.
const (
	ClientBrowser       = "browser"
	ClientWindowsLogon  = "windows-logon"  // the Windows 10/11 sign-in screen
	ClientWindows7Addin = "windows7-addin" // the Windows 7/8/8.1 sign-in add-in
)

// AuditEntry is one audit record. It never holds a password or a code.
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

// AuditLog holds the audit entries. It is safe for concurrent use.
type AuditLog struct {
	mu      sync.Mutex
	entries []AuditEntry
}

func (l *AuditLog) add(e AuditEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e.ID = len(l.entries) + 1
	e.Service, e.Category = AuditService, AuditCategory
	l.entries = append(l.entries, e)
}

// Entries returns the entries about upn ("" for all), oldest first.
func (l *AuditLog) Entries(upn string) []AuditEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []AuditEntry
	for _, e := range l.entries {
		if upn == "" || e.TargetUser == upn {
			out = append(out, e)
		}
	}
	return out
}
