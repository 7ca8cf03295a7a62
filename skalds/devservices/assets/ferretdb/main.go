// Command skalds-ferretdb runs FerretDB v1 (SQLite backend) for skalds' local
// development and integration tests.
//
// It is not built as a module of its own: scripts/services copies it into a
// writable copy of the FerretDB module source (fetched from the Go module proxy)
// as cmd/skalds-ferretdb/main.go, writes build/version/version.txt, and builds it
// there. Living inside the FerretDB module lets it use FerretDB's internal
// packages, which is needed because the public embeddable package
// (github.com/FerretDB/FerretDB/ferretdb) cannot turn on SCRAM authentication
// or create the first user.
//
// Authentication modes (-auth):
//
//	mixed  (default) SCRAM-SHA-1/256 logins are checked against the users in
//	       admin.system.users, and clients without credentials are served too.
//	       So both mongodb://root:root@host/ and mongodb://host/ work.
//	strict SCRAM is required for every non-handshake command, like
//	       ferretdb --test-enable-new-auth.
//	off    FerretDB's default for the SQLite backend: only PLAIN is offered
//	       and credentials are ignored (SCRAM clients such as pymongo fail).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/build/version"
	"github.com/FerretDB/FerretDB/internal/clientconn"
	"github.com/FerretDB/FerretDB/internal/clientconn/connmetrics"
	"github.com/FerretDB/FerretDB/internal/handler/registry"
	"github.com/FerretDB/FerretDB/internal/util/password"
	"github.com/FerretDB/FerretDB/internal/util/state"
)

func main() {
	listenAddr := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	sqliteDir := flag.String("sqlite-dir", "data", "directory for the SQLite database files (created if missing)")
	auth := flag.String("auth", "mixed", "authentication mode: mixed, strict or off")
	setupDB := flag.String("setup-database", "admin", "database of the first user")
	setupUser := flag.String("setup-username", "", "first user, created on the first start (empty: none)")
	setupPassword := flag.String("setup-password", "", "password of the first user")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error (info logs every connection)")
	showVersion := flag.Bool("version", false, "print the FerretDB version and exit")
	flag.Parse()

	if *showVersion {
		fmt.Println(version.Get().Version)
		return
	}

	if err := run(*listenAddr, *sqliteDir, *auth, *setupDB, *setupUser, *setupPassword, *logLevel); err != nil {
		fmt.Fprintln(os.Stderr, "skalds-ferretdb:", err)
		os.Exit(1)
	}
}

func run(listenAddr, sqliteDir, auth, setupDB, setupUser, setupPassword, logLevel string) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return err
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)

	if auth != "mixed" && auth != "strict" && auth != "off" {
		return fmt.Errorf("unknown -auth %q", auth)
	}

	if setupUser != "" && auth == "off" {
		return errors.New("-setup-username needs -auth mixed or strict")
	}

	dir, err := filepath.Abs(sqliteDir)
	if err != nil {
		return err
	}

	if err = os.MkdirAll(dir, 0o755); err != nil {
		return err
	}

	// State lives in memory only: telemetry is off and locked, as in the embeddable package.
	sp, err := state.NewProvider("")
	if err != nil {
		return err
	}

	if err = sp.Update(func(s *state.State) { s.DisableTelemetry(); s.TelemetryLocked = true }); err != nil {
		return err
	}

	opts := &registry.NewHandlerOpts{
		Logger:        logger,
		StateProvider: sp,
		TCPHost:       listenAddr,
		// WAL with synchronous=NORMAL: a commit is durable once in the OS (a killed server loses nothing) and
		// is synced at checkpoints, as MongoDB acknowledges a w:1 write before its journal's next group
		// commit. FULL, SQLite's default, syncs every commit: 5 ms each on this disk, one per updated document.
		SQLiteURL: "file:" + dir + "/?_pragma=synchronous(normal)",
		// Same values as the ferretdb CLI's defaults; zero values are invalid for some.
		TestOpts: registry.TestOpts{
			CappedCleanupInterval:   time.Minute,
			CappedCleanupPercentage: 10,
			BatchSize:               100,
			MaxBsonObjectSizeBytes:  16 * 1024 * 1024,
			// strict wraps every command with an authentication check at construction time.
			EnableNewAuth: auth == "strict",
		},
	}

	if setupUser != "" {
		opts.SetupDatabase = setupDB
		opts.SetupUsername = setupUser
		opts.SetupPassword = password.WrapPassword(setupPassword)
		opts.SetupTimeout = 30 * time.Second
	}

	metrics := connmetrics.NewListenerMetrics()
	opts.ConnMetrics = metrics.ConnMetrics

	h, closeBackend, err := registry.NewHandler("sqlite", opts)
	if err != nil {
		if closeBackend != nil {
			closeBackend()
		}

		return fmt.Errorf("construct handler: %w", err)
	}

	defer closeBackend()

	// mixed: commands were registered without the per-command check, but saslStart,
	// hello and getParameter read this flag per request, so SCRAM logins now work
	// while anonymous clients keep working.
	if auth == "mixed" {
		h.EnableNewAuth = true
	}

	l, err := clientconn.Listen(&clientconn.NewListenerOpts{
		TCP:     listenAddr,
		Mode:    clientconn.NormalMode,
		Metrics: metrics,
		Handler: h,
		Logger:  logger,
	})
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	// Printed whatever the log level: it is the line to look for in the log.
	fmt.Fprintf(os.Stderr, "skalds-ferretdb %s listening on %s (auth %s, sqlite %s)\n",
		version.Get().Version, listenAddr, auth, dir)

	l.Run(ctx)
	fmt.Fprintln(os.Stderr, "skalds-ferretdb stopped")

	return nil
}
