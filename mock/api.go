package mock

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/gorilla/mux"
)

// apiError is a JSON API error: a status, a kind a program can switch on,
// a message for people, and the offending field when there is one.
type apiError struct {
	Status  int    `json:"-"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

// badRequest is a 400 about field ("" for the request as a whole); the
// message names the field.
func badRequest(field, format string, a ...any) *apiError {
	msg := fmt.Sprintf(format, a...)
	if field != "" {
		msg = field + ": " + msg
	}
	return &apiError{Status: http.StatusBadRequest, Kind: "bad-request", Field: field, Message: msg}
}

func internalError(err error) *apiError {
	return &apiError{Status: http.StatusInternalServerError, Kind: "internal", Message: err.Error()}
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may have gone; nothing to do
}

// writeError writes the one JSON error shape: {"error": {...}}.
func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.Status, map[string]*apiError{"error": e})
}

// decodeJSON decodes the request body into v strictly: JSON only, at most
// MaxBodyBytes, no unknown fields, one value. The error names the field.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) *apiError {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return &apiError{Status: http.StatusUnsupportedMediaType, Kind: "unsupported-media-type",
				Message: fmt.Sprintf("content type %q: want application/json", ct)}
		}
	}
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return jsonError(err)
		}
		return badRequest("", "request body holds more than one JSON value")
	}
	return nil
}

func jsonError(err error) *apiError {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Kind: "too-large",
			Message: fmt.Sprintf("request body larger than %d bytes", mbe.Limit)}
	case errors.As(err, &syn):
		return badRequest("", "malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		return badRequest(typ.Field, "want %s, got JSON %s", typ.Type, typ.Value)
	case errors.Is(err, io.EOF):
		return badRequest("", "empty request body: want a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "truncated JSON")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badRequest(field, "unknown field")
	}
	return badRequest("", "invalid JSON: %v", err)
}

// The JSON API's requests.
type (
	beginRequest struct {
		UserID        string `json:"userId"`
		CaptchaID     string `json:"captchaId"`
		CaptchaAnswer string `json:"captchaAnswer"`
	}
	sendRequest struct {
		FlowToken string `json:"flowToken"`
		Method    Method `json:"method"`
	}
	verifyRequest struct {
		FlowToken string   `json:"flowToken"`
		Method    Method   `json:"method"`
		Code      string   `json:"code,omitempty"`
		Answers   []string `json:"answers,omitempty"`
	}
	passwordRequest struct {
		FlowToken   string `json:"flowToken"`
		NewPassword string `json:"newPassword"`
	}
)

// APIPrefix is where the JSON API lives.
const APIPrefix = PortalPath + "/api"

// apiRoutes adds the JSON API:
//
//	POST /n/passwordreset/api/captcha   -> Captcha
//	POST /n/passwordreset/api/begin     beginRequest -> FlowView
//	POST /n/passwordreset/api/send      sendRequest -> FlowView
//	POST /n/passwordreset/api/verify    verifyRequest -> FlowView
//	POST /n/passwordreset/api/password  passwordRequest -> FlowView
//
// A request names its client in the X-SSPR-Client header (browser,
// windows-logon, windows7-addin).
func (s *Service) apiRoutes(r *mux.Router) {
	api := r.PathPrefix(APIPrefix).Subrouter()
	api.HandleFunc("/captcha", s.step("captcha", func(w http.ResponseWriter, r *http.Request) {
		c, err := s.NewCaptcha()
		if err != nil {
			writeError(w, internalError(err))
			return
		}
		writeJSON(w, http.StatusOK, c)
	})).Methods(http.MethodPost)
	api.HandleFunc("/begin", s.step("begin", jsonCall(func(r *http.Request, req beginRequest) (*FlowView, *apiError) {
		info, e := requestInfo(r, r.Header.Get(ClientTypeHeader))
		if e != nil {
			return nil, e
		}
		return s.begin(info, req.UserID, req.CaptchaID, req.CaptchaAnswer)
	}))).Methods(http.MethodPost)
	api.HandleFunc("/send", s.step("send", jsonCall(func(_ *http.Request, req sendRequest) (*FlowView, *apiError) {
		return s.send(req.FlowToken, req.Method)
	}))).Methods(http.MethodPost)
	api.HandleFunc("/verify", s.step("verify", jsonCall(func(_ *http.Request, req verifyRequest) (*FlowView, *apiError) {
		return s.verify(req.FlowToken, req.Method, req.Code, req.Answers)
	}))).Methods(http.MethodPost)
	api.HandleFunc("/password", s.step("password", jsonCall(func(_ *http.Request, req passwordRequest) (*FlowView, *apiError) {
		return s.setPassword(req.FlowToken, req.NewPassword)
	}))).Methods(http.MethodPost)
	// Every call is POST; any other method on a known path gets 405. (A
	// subrouter's MethodNotAllowedHandler is not reached reliably in
	// gorilla/mux, so the catch-all routes are explicit.)
	for _, p := range []string{"/captcha", "/begin", "/send", "/verify", "/password"} {
		api.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, &apiError{Status: http.StatusMethodNotAllowed, Kind: "method-not-allowed", Message: r.Method + " not allowed: use POST"})
		})
	}
	api.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{Status: http.StatusNotFound, Kind: "not-found", Message: "no such API call: " + r.URL.Path})
	})
}

// jsonCall decodes a request of type T strictly, runs call and writes the
// view or the error.
func jsonCall[T any](call func(*http.Request, T) (*FlowView, *apiError)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req T
		if e := decodeJSON(w, r, &req); e != nil {
			writeError(w, e)
			return
		}
		v, e := call(r, req)
		if e != nil {
			writeError(w, e)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

// step wraps a handler with the step's injected fault, if any.
func (s *Service) step(name string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.injectFault(w, r, name) {
			return
		}
		h(w, r)
	}
}
