package mock_test

import (
	"fmt"
	"testing"

	"github.com/egresslab/egresslab/mock"
)

// BenchmarkFlow runs one complete flow (captcha, begin, send, verify,
// password: five API calls) over the JSON API on a loopback server with
// keep-alive. Each of the 64 users resets five times, then all are
// unblocked: a sixth reset within an hour would be refused.
func BenchmarkFlow(b *testing.B) {
	d := &mock.DirectoryData{Tenants: []mock.Tenant{{ID: "contoso", Domains: []string{"contoso.com"}, SSPR: mock.SSPRAll, Gates: 1}}}
	const users = 64
	for i := range users {
		d.Users = append(d.Users, mock.User{UPN: fmt.Sprintf("u%d@contoso.com", i), Methods: mock.Registration{Email: fmt.Sprintf("u%d@mail.example", i)}})
	}
	b.Run("loopback-http", func(b *testing.B) {
		l := newLab(b, mock.WithDirectory(d))
		i := 0
		for b.Loop() {
			runFlow(b, l, i%users)
			i++
			if i%(users*mock.ThrottleLimit) == 0 {
				for u := range users {
					l.svc.Unblock(fmt.Sprintf("u%d@contoso.com", u))
				}
			}
		}
	})
}

func runFlow(b *testing.B, l *lab, n int) {
	upn := fmt.Sprintf("u%d@contoso.com", n)
	v := l.begin(b, upn).View
	l.send(b, v.FlowToken, mock.MethodEmail)
	l.verify(b, v.FlowToken, mock.MethodEmail, l.lastCode(b, upn, mock.MethodEmail))
	if r := l.password(b, v.FlowToken, strongPassword); r.View.Outcome != mock.OutcomeSuccess {
		b.Fatalf("flow %d: %s", n, r.Raw)
	}
}
