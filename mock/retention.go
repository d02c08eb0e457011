package mock

import (
	"cmp"
	"fmt"
	"time"
)

// Retention defaults: what a service keeps when WithRetention does not
// say otherwise. With them a long-running lab holds a few tens of MiB at
// most, whatever number of flows it served.
const (
	DefaultMaxFlows        = 10_000
	DefaultMaxCaptchas     = 10_000
	DefaultMaxMessages     = 10_000
	DefaultMaxAuditEntries = 50_000
	DefaultEndedFlowTTL    = time.Hour
)

// Retention bounds what a service keeps, so that a lab serving flows for
// days stays as fast and as small as a fresh one. Over a limit, the
// oldest goes first, and [Service.Stats] counts what went. A zero field
// keeps its default; a negative one is an error.
type Retention struct {
	// Flows is the most flows the service knows, under way and ended
	// together (DefaultMaxFlows). A new flow over it drops the flow that
	// ended first, or, when none has ended, the oldest flow under way,
	// whose next call then gets 404 unknown-flow.
	Flows int
	// EndedFlowTTL is how long a flow stays known after it ended: done,
	// failed, or expired at the end of its flow TTL (DefaultEndedFlowTTL).
	// Until then a call on it answers 409 (ended) or 410 (expired); after,
	// 404 unknown-flow.
	EndedFlowTTL time.Duration
	// Captchas is the most captchas issued and not yet used
	// (DefaultMaxCaptchas); over it the oldest is dropped, and an answer
	// to it is then a wrong captcha. Unused captchas also expire after
	// DefaultCaptchaTTL.
	Captchas int
	// Messages is the most messages the outbox keeps (DefaultMaxMessages).
	Messages int
	// AuditEntries is the most entries the audit log keeps
	// (DefaultMaxAuditEntries).
	AuditEntries int
}

func defaultRetention() Retention {
	return Retention{Flows: DefaultMaxFlows, EndedFlowTTL: DefaultEndedFlowTTL, Captchas: DefaultMaxCaptchas,
		Messages: DefaultMaxMessages, AuditEntries: DefaultMaxAuditEntries}
}

// WithRetention sets the limits of what the service keeps; zero fields
// keep their defaults.
func WithRetention(r Retention) Option {
	return func(s *Service) error {
		for _, f := range []struct {
			name string
			v    int
		}{{"flows", r.Flows}, {"captchas", r.Captchas}, {"messages", r.Messages}, {"audit entries", r.AuditEntries}} {
			if f.v < 0 {
				return fmt.Errorf("retention of %s must not be negative, got %d", f.name, f.v)
			}
		}
		if r.EndedFlowTTL < 0 {
			return fmt.Errorf("retention of ended flows must not be negative, got %v", r.EndedFlowTTL)
		}
		d := defaultRetention()
		s.retention = Retention{
			Flows:        cmp.Or(r.Flows, d.Flows),
			EndedFlowTTL: cmp.Or(r.EndedFlowTTL, d.EndedFlowTTL),
			Captchas:     cmp.Or(r.Captchas, d.Captchas),
			Messages:     cmp.Or(r.Messages, d.Messages),
			AuditEntries: cmp.Or(r.AuditEntries, d.AuditEntries),
		}
		return nil
	}
}

// Counts counts the things a service keeps, by kind.
type Counts struct {
	Flows        int `json:"flows"`
	Captchas     int `json:"captchas"`
	Messages     int `json:"messages"`
	AuditEntries int `json:"auditEntries"`
}

// Stats is what a service holds now and what its [Retention] let go since
// it started. The admin API serves it at /_egresslab/stats.
type Stats struct {
	// Kept is what the service holds: flows under way and ended, captchas
	// issued and not yet used, outbox messages, audit entries.
	Kept Counts `json:"kept"`
	// FlowsUnderWay is how many of the kept flows have not ended.
	FlowsUnderWay int `json:"flowsUnderWay"`
	// Limits are the retention's limits.
	Limits Counts `json:"limits"`
	// Dropped counts what went over a limit before its time, oldest
	// first.
	Dropped Counts `json:"dropped"`
	// Expired counts what went at the end of its time: flows
	// EndedFlowTTL after they ended, captchas unused when they expired.
	// Messages and audit entries do not expire.
	Expired Counts `json:"expired"`
}

// Stats returns what the service holds and what its retention let go. It
// first lets go of what has had its time by the service's clock.
func (s *Service) Stats() Stats {
	s.mu.Lock()
	now := s.clock.Now()
	s.purgeFlowsLocked(now)
	s.captchas.purge(now)
	st := Stats{
		Kept:          Counts{Flows: s.live.len() + s.ended.len(), Captchas: s.captchas.len()},
		FlowsUnderWay: s.live.len(),
		Limits: Counts{Flows: s.retention.Flows, Captchas: s.retention.Captchas,
			Messages: s.retention.Messages, AuditEntries: s.retention.AuditEntries},
		Dropped: Counts{Flows: s.flowsDropped, Captchas: s.captchas.dropped},
		Expired: Counts{Flows: s.flowsExpired, Captchas: s.captchas.expired},
	}
	s.mu.Unlock()
	st.Kept.Messages, st.Dropped.Messages = s.outbox.stats()
	st.Kept.AuditEntries, st.Dropped.AuditEntries = s.audit.stats()
	return st
}
