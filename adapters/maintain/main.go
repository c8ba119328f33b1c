// Command maintain runs lake maintenance on a local warehouse — the daily workflow's maintain
// task, on a laptop: it compacts every table's small files, expires snapshots older than the
// retention (keeping at least -min-snapshots, and every pipeline's checkpoint), and removes files
// no snapshot references that are older than -orphan-age.
//
//	go run ./adapters/maintain -warehouse ctc-data/warehouse
//	go run ./adapters/maintain -warehouse ctc-data/warehouse -retention 72h -tables raw_trades
//	go run ./adapters/maintain -warehouse /new/place -relocate-from /old/place
//
// Iceberg metadata holds absolute locations, so a warehouse directory that was moved does not open;
// -relocate-from OLD first rewrites its catalog and metadata from the directory it was at (stop
// every process using it first).
//
// Business logic lives in package sink/iceberg/maintain; this is flags and printing.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/coattailcapital/ctc/internal/logflag"
	"github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/sink/iceberg/maintain"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("maintain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: maintain -warehouse DIR [flags]

Compacts the small files of the local Iceberg warehouse's tables, expires old snapshots (every
pipeline's checkpoint is kept) and removes old orphan files; with -relocate-from, first makes a
warehouse that was moved open again.

Flags:
`)
		fs.PrintDefaults()
	}
	p := maintain.DefaultPolicy()
	var (
		warehouse, from, tables string
		asJSON                  bool
	)
	fs.StringVar(&warehouse, "warehouse", "", "the local warehouse `DIR` (the consumer's is ctc-data/warehouse)")
	fs.DurationVar(&p.Expire.Retention, "retention", p.Expire.Retention, "keep the snapshots of this `long` (the time-travel window)")
	fs.IntVar(&p.Expire.MinSnapshots, "min-snapshots", p.Expire.MinSnapshots, "keep at least this many snapshots of each table, however old")
	fs.DurationVar(&p.Orphans.Age, "orphan-age", p.Orphans.Age, "remove unreferenced files older than this (at least 1h)")
	fs.StringVar(&from, "relocate-from", "", "the `OLD` directory the warehouse was moved from: rewrite its locations first")
	fs.StringVar(&tables, "tables", "", "comma-separated `tables` to maintain (default: all)")
	fs.IntVar(&p.Compact.MinInputFiles, "min-input-files", p.Compact.MinInputFiles, "compact a partition once it has this many small files")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	logs := logflag.Register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	log, lerr := logs.New(stderr)
	if lerr != nil {
		fmt.Fprintln(stderr, "maintain:", lerr)
		return 2
	}
	usage := func(err error) int {
		fmt.Fprintln(stderr, "maintain:", err) // a command-line mistake: plain, like the flag package's own
		return 2
	}
	if fs.NArg() > 0 {
		return usage(fmt.Errorf("unexpected argument %q: every option is a flag", fs.Arg(0)))
	}
	if warehouse == "" {
		return usage(errors.New("-warehouse is required"))
	}
	if _, err := os.Stat(warehouse); err != nil {
		return usage(fmt.Errorf("-warehouse: %w", err))
	}
	if tables != "" {
		p.Tables = strings.Split(tables, ",")
	}
	if err := p.Validate(); err != nil {
		return usage(err)
	}
	fail := func(err error) int {
		log.Error(err.Error())
		return 1
	}

	if from != "" {
		rel, err := maintain.Relocate(ctx, warehouse, from)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "relocated %d tables from %s to %s: %d metadata files, %d manifest lists, %d manifests rewritten\n",
			rel.Tables, rel.From, rel.To, rel.MetadataFiles, rel.ManifestLists, rel.Manifests)
	}
	lake, err := iceberg.Open(ctx, iceberg.Config{Dir: warehouse})
	if err != nil {
		if from == "" && errors.Is(err, os.ErrNotExist) {
			err = fmt.Errorf("%w\n(if the warehouse was moved here, give the directory it was at with -relocate-from)", err)
		}
		return fail(err)
	}
	defer lake.Close(context.WithoutCancel(ctx))

	rep, runErr := maintain.Run(ctx, lake, p)
	if rep != nil {
		if asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(rep); err != nil {
				return fail(err)
			}
		} else {
			writeReport(stdout, rep)
		}
	}
	if runErr != nil {
		return fail(runErr)
	}
	return 0
}

func writeReport(w io.Writer, rep *maintain.Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "table\tdata files\tmanifests\tsnapshots\tcheckpoints carried\torphans removed\t")
	for _, t := range rep.Tables {
		files, mans, snaps, carried, orphans := "-", "-", "-", "-", "-"
		if c := t.Compact; c != nil {
			files = fmt.Sprintf("%d → %d", c.FilesBefore, c.FilesAfter)
			mans = fmt.Sprintf("%d → %d", c.ManifestsBefore, c.ManifestsAfter)
		}
		if e := t.Expire; e != nil {
			snaps = fmt.Sprintf("%d → %d", e.SnapshotsBefore, e.SnapshotsAfter)
			carried = fmt.Sprint(len(e.Carried))
		}
		if o := t.Orphans; o != nil {
			orphans = fmt.Sprintf("%d (%d bytes)", o.Removed, o.Bytes)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", t.Table, files, mans, snaps, carried, orphans)
		if t.Error != "" {
			fmt.Fprintf(tw, "  error: %s\t\t\t\t\t\t\n", t.Error)
		}
	}
	tw.Flush()
}
