package server

import (
	"log/slog"
	"net/http"
	"strings"

	"kinesisd/internal/config"
	"kinesisd/internal/console"
	"kinesisd/internal/identity"
	"kinesisd/internal/protocol"
	"kinesisd/internal/service"
	"kinesisd/internal/sigv4"
)

// consoleOn reports whether cfg serves the web console: -console=true or false as given; by default
// on for a loopback -listen (this machine's pages only), or with -credentials (the page signs its
// calls with a listed key), and off otherwise.
func consoleOn(cfg *config.Config) bool {
	switch cfg.Console {
	case "true":
		return true
	case "false":
		return false
	}
	return loopbackOnly(cfg.Listen) || cfg.Credentials != ""
}

// newConsole returns the console's handler for routes, or nil when cfg turns it off. It warns when the
// console is on beyond this machine without -credentials: anyone who can reach the port can read and
// delete every stream through it (as through the API itself).
func newConsole(cfg *config.Config, svc *service.Service, api *protocol.Handler, auth *sigv4.Verifier, keys identity.Keys, log *slog.Logger) http.Handler {
	if !consoleOn(cfg) {
		return nil
	}
	if auth == nil && !loopbackOnly(cfg.Listen) {
		log.Warn("web console on beyond this machine without -credentials: anyone who reaches the port can read and delete every stream",
			"console", "/console/", "listen", cfg.Listen)
	}
	rates := func() map[string]console.Count {
		out := map[string]console.Count{}
		for name, c := range api.StreamCounts() {
			out[name] = console.Count{Records: c.Records, Bytes: c.Bytes}
		}
		return out
	}
	h := console.New(console.Options{Service: svc, Auth: auth, Keys: keys, Account: cfg.AccountID, Region: cfg.Region, Rates: rates, Log: log})
	log.Info("web console", "path", console.Prefix)
	return h
}

// isConsole reports whether r is for the console: a GET or HEAD under /console (other methods there
// stay the API's, which accepts any path).
func isConsole(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		(r.URL.Path == "/console" || strings.HasPrefix(r.URL.Path, console.Prefix))
}
