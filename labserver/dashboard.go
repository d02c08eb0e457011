package labserver

import (
	"embed"
	"net/http"

	"github.com/gorilla/mux"
)

// ui is the dashboard: a page, a style sheet and a script, embedded so
// that it works on a machine without a network. It is a view of the
// admin API: everything it shows comes from the public endpoints.
//
//go:embed ui
var ui embed.FS

func dashboard(r *mux.Router) {
	page := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:")
		http.ServeFileFS(w, r, ui, "ui/index.html")
	}
	r.HandleFunc("/", page).Methods(http.MethodGet, http.MethodHead)
	files := http.FileServerFS(ui)
	r.PathPrefix("/ui/").Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:")
		files.ServeHTTP(w, r)
	})).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, ui, "ui/favicon.svg")
	}).Methods(http.MethodGet, http.MethodHead)
}
