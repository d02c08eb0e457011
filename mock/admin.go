package mock

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/egresslab/egresslab/internal/yamlfile"
)

// adminRoutes builds the admin API (JSON, under AdminPrefix):
//
//	GET    /_egresslab/directory                  the directory (answers redacted)
//	PUT    /_egresslab/directory                  replace it (DirectoryData; "(redacted)" keeps an answer)
//	GET    /_egresslab/users/{upn}                one user (answers redacted)
//	PUT    /_egresslab/users/{upn}                add or replace a user
//	DELETE /_egresslab/users/{upn}
//	GET    /_egresslab/tenants/{id}               one tenant
//	PUT    /_egresslab/tenants/{id}               add or replace a tenant
//	DELETE /_egresslab/tenants/{id}
//	GET    /_egresslab/outbox?upn=&correlationId= messages kept (with codes: it is the user's phone)
//	DELETE /_egresslab/outbox
//	GET    /_egresslab/audit?upn=&activity=       audit entries
//	GET    /_egresslab/clock                      {"now", "frozen"}
//	POST   /_egresslab/clock                      {"advance": "25h"} | {"set": RFC 3339} | {"freeze": bool}
//	GET    /_egresslab/faults                     faults by step
//	PUT    /_egresslab/faults/{step}              StepFault
//	DELETE /_egresslab/faults/{step}
//	GET    /_egresslab/authenticator/{upn}        {"code", "pending"}
//	POST   /_egresslab/authenticator/{upn}/approve?flow=   the flow's notification, or the newest
//	POST   /_egresslab/authenticator/{upn}/deny?flow=
//	GET    /_egresslab/blocks/{upn}               the user's block, 404 if none
//	DELETE /_egresslab/blocks/{upn}               lift it
//	GET    /_egresslab/stats                      Stats: what is kept, the limits, what was let go
func (s *Service) adminRoutes() http.Handler {
	r := mux.NewRouter()
	// Routes sit on the root router with the prefix spelled out: through a
	// subrouter, gorilla/mux answers a method mismatch with 404, not 405.
	a := prefixed{r, AdminPrefix}
	a.HandleFunc("/directory", func(w http.ResponseWriter, r *http.Request) {
		d := s.Directory()
		for i := range d.Users {
			d.Users[i] = d.Users[i].redacted()
		}
		writeJSON(w, http.StatusOK, d)
	}).Methods(http.MethodGet)
	a.HandleFunc("/directory", func(w http.ResponseWriter, r *http.Request) {
		var d DirectoryData
		if e := decodeJSON(w, r, &d); e != nil {
			writeError(w, e)
			return
		}
		if err := s.SetDirectory(&d); err != nil {
			writeError(w, unprocessable("invalid-directory", err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}).Methods(http.MethodPut)
	a.HandleFunc("/users/{upn}", func(w http.ResponseWriter, r *http.Request) {
		upn := strings.ToLower(mux.Vars(r)["upn"])
		for _, u := range s.Directory().Users {
			if u.UPN == upn {
				writeJSON(w, http.StatusOK, u.redacted())
				return
			}
		}
		writeError(w, &apiError{Status: http.StatusNotFound, Kind: "not-found", Message: "no user " + upn})
	}).Methods(http.MethodGet)
	a.HandleFunc("/users/{upn}", func(w http.ResponseWriter, r *http.Request) {
		var u User
		if e := decodeJSON(w, r, &u); e != nil {
			writeError(w, e)
			return
		}
		upn := strings.ToLower(mux.Vars(r)["upn"])
		if u.UPN == "" {
			u.UPN = upn
		}
		if strings.ToLower(u.UPN) != upn {
			writeError(w, badRequest("upn", "body names %q but the path names %q", u.UPN, upn))
			return
		}
		if err := s.PutUser(u); err != nil {
			writeError(w, unprocessable("invalid-user", err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}).Methods(http.MethodPut)
	a.HandleFunc("/users/{upn}", func(w http.ResponseWriter, r *http.Request) {
		if !s.DeleteUser(mux.Vars(r)["upn"]) {
			writeError(w, &apiError{Status: http.StatusNotFound, Kind: "not-found", Message: "no user " + mux.Vars(r)["upn"]})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}).Methods(http.MethodDelete)
	a.HandleFunc("/tenants/{id}", func(w http.ResponseWriter, r *http.Request) {
		var t Tenant
		if e := decodeJSON(w, r, &t); e != nil {
			writeError(w, e)
			return
		}
		id := mux.Vars(r)["id"]
		if t.ID == "" {
			t.ID = id
		}
		if t.ID != id {
			writeError(w, badRequest("id", "body names %q but the path names %q", t.ID, id))
			return
		}
		if err := s.PutTenant(t); err != nil {
			writeError(w, unprocessable("invalid-tenant", err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}).Methods(http.MethodPut)
	a.HandleFunc("/tenants/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := mux.Vars(r)["id"]
		t, ok := s.Tenant(id)
		if !ok {
			writeError(w, &apiError{Status: http.StatusNotFound, Kind: "not-found", Message: "no tenant " + id})
			return
		}
		writeJSON(w, http.StatusOK, t)
	}).Methods(http.MethodGet)
	a.HandleFunc("/tenants/{id}", func(w http.ResponseWriter, r *http.Request) {
		if err := s.DeleteTenant(mux.Vars(r)["id"]); err != nil {
			writeError(w, &apiError{Status: http.StatusConflict, Kind: "tenant-in-use", Message: err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}).Methods(http.MethodDelete)
	a.HandleFunc("/outbox", func(w http.ResponseWriter, r *http.Request) {
		upn := strings.ToLower(r.URL.Query().Get("upn"))
		var msgs []Message
		if corr := r.URL.Query().Get("correlationId"); corr != "" {
			msgs = slices.DeleteFunc(s.outbox.Flow(corr), func(m Message) bool { return upn != "" && m.UPN != upn })
		} else {
			msgs = s.outbox.Messages(upn)
		}
		if msgs == nil {
			msgs = []Message{}
		}
		writeJSON(w, http.StatusOK, msgs)
	}).Methods(http.MethodGet)
	a.HandleFunc("/outbox", func(w http.ResponseWriter, r *http.Request) {
		s.outbox.Clear()
		w.WriteHeader(http.StatusNoContent)
	}).Methods(http.MethodDelete)
	a.HandleFunc("/audit", func(w http.ResponseWriter, r *http.Request) {
		activity := r.URL.Query().Get("activity")
		out := []AuditEntry{}
		for _, e := range s.audit.Entries(strings.ToLower(r.URL.Query().Get("upn"))) {
			if activity == "" || e.Activity == activity {
				out = append(out, e)
			}
		}
		writeJSON(w, http.StatusOK, out)
	}).Methods(http.MethodGet)
	a.HandleFunc("/clock", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"now": s.clock.Now(), "frozen": s.clock.Frozen()})
	}).Methods(http.MethodGet)
	a.HandleFunc("/clock", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Advance string `json:"advance,omitempty"`
			Set     string `json:"set,omitempty"`
			Freeze  *bool  `json:"freeze,omitempty"`
		}
		if e := decodeJSON(w, r, &req); e != nil {
			writeError(w, e)
			return
		}
		var d time.Duration
		var at time.Time
		var err error
		if req.Advance != "" {
			if d, err = time.ParseDuration(req.Advance); err != nil {
				writeError(w, badRequest("advance", "not a duration (like 90m or 25h): %v", err))
				return
			}
		}
		if req.Set != "" {
			if at, err = time.Parse(time.RFC3339, req.Set); err != nil {
				writeError(w, badRequest("set", "not an RFC 3339 time: %v", err))
				return
			}
		}
		if req.Advance == "" && req.Set == "" && req.Freeze == nil {
			writeError(w, badRequest("", "say advance, set or freeze"))
			return
		}
		if req.Freeze != nil && *req.Freeze {
			s.clock.Freeze()
		}
		if req.Set != "" {
			s.clock.Set(at)
		}
		s.clock.Advance(d)
		if req.Freeze != nil && !*req.Freeze {
			s.clock.Unfreeze()
		}
		writeJSON(w, http.StatusOK, map[string]any{"now": s.clock.Now(), "frozen": s.clock.Frozen()})
	}).Methods(http.MethodPost)
	a.HandleFunc("/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Faults())
	}).Methods(http.MethodGet)
	a.HandleFunc("/faults/{step}", func(w http.ResponseWriter, r *http.Request) {
		var f StepFault
		if e := decodeJSON(w, r, &f); e != nil {
			writeError(w, e)
			return
		}
		if f == (StepFault{}) {
			writeError(w, badRequest("", "a fault needs a status or stall; DELETE clears it"))
			return
		}
		if err := s.SetFault(mux.Vars(r)["step"], f); err != nil {
			writeError(w, badRequest("", "%v", err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}).Methods(http.MethodPut)
	a.HandleFunc("/faults/{step}", func(w http.ResponseWriter, r *http.Request) {
		if err := s.SetFault(mux.Vars(r)["step"], StepFault{}); err != nil {
			writeError(w, badRequest("", "%v", err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}).Methods(http.MethodDelete)
	a.HandleFunc("/authenticator/{upn}", func(w http.ResponseWriter, r *http.Request) {
		upn := strings.ToLower(mux.Vars(r)["upn"])
		writeJSON(w, http.StatusOK, map[string]any{"code": s.app.Code(upn), "pending": s.app.Pending(upn)})
	}).Methods(http.MethodGet)
	a.HandleFunc("/authenticator/{upn}/{answer:approve|deny}", func(w http.ResponseWriter, r *http.Request) {
		v := mux.Vars(r)
		if err := s.app.AnswerFlow(strings.ToLower(v["upn"]), r.URL.Query().Get("flow"), v["answer"] == "approve"); err != nil {
			writeError(w, &apiError{Status: http.StatusConflict, Kind: "no-notification", Message: err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}).Methods(http.MethodPost)
	a.HandleFunc("/blocks/{upn}", func(w http.ResponseWriter, r *http.Request) {
		blk, ok := s.Block(mux.Vars(r)["upn"])
		if !ok {
			writeError(w, &apiError{Status: http.StatusNotFound, Kind: "not-blocked", Message: mux.Vars(r)["upn"] + " is not blocked"})
			return
		}
		writeJSON(w, http.StatusOK, blk)
	}).Methods(http.MethodGet)
	a.HandleFunc("/blocks/{upn}", func(w http.ResponseWriter, r *http.Request) {
		s.Unblock(mux.Vars(r)["upn"])
		w.WriteHeader(http.StatusNoContent)
	}).Methods(http.MethodDelete)
	a.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	}).Methods(http.MethodGet)
	notFound := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{Status: http.StatusNotFound, Kind: "not-found", Message: "no such admin call: " + r.Method + " " + r.URL.Path})
	})
	r.NotFoundHandler = notFound
	methodNotAllowed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{Status: http.StatusMethodNotAllowed, Kind: "method-not-allowed", Message: r.Method + " not allowed on " + r.URL.Path})
	})
	r.MethodNotAllowedHandler = methodNotAllowed
	return r
}

// unprocessable is a 422 for a directory change that does not validate,
// naming the (first) offending field.
func unprocessable(kind string, err error) *apiError {
	e := &apiError{Status: http.StatusUnprocessableEntity, Kind: kind, Message: err.Error()}
	var fe *yamlfile.FieldError
	if errors.As(err, &fe) {
		e.Field = fe.Path
	}
	return e
}

// prefixed registers routes under a path prefix on one router.
type prefixed struct {
	r      *mux.Router
	prefix string
}

func (p prefixed) HandleFunc(path string, h http.HandlerFunc) *mux.Route {
	return p.r.HandleFunc(p.prefix+path, h)
}
