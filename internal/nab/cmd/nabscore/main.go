// Command nabscore scores an anomaly detector on the NAB v1.1 corpus with package nab and
// prints, per profile, the corpus-wide threshold, the normalised score and the counts.
//
//	nabscore -cmd "go run ./examples/nab -model windowedgaussian"   pipe every CSV through a command
//	nabscore -scores DIR                                             score outputs already written
//
// A command reads one NAB CSV on stdin and writes one score per data row on stdout; it runs
// once per file (-j at a time) through sh -c. A scores directory mirrors the corpus's data
// directory: DIR/<category>/<file>.csv with one score per line, or a NAB results directory
// (DIR/<category>/<detector>_<file>.csv with an anomaly_score column). scripts/nab.sh wraps it.
package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"path/filepath"
	"runtime"
	"sync"
	"text/tabwriter"

	"github.com/coattailcapital/ctc/internal/nab"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nabscore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "NAB corpus root with data/ and labels/ (default: $CTC_NAB_DIR or ../shared/data/nab beside the module)")
	command := fs.String("cmd", "", "detector command: reads one NAB CSV on stdin, writes one score per row (run with sh -c)")
	scoresDir := fs.String("scores", "", "directory of per-file scores: <category>/<file>.csv, or a NAB results directory")
	out := fs.String("out", "", "with -cmd: also write each file's scores to DIR/<category>/<file>.csv")
	jobs := fs.Int("j", runtime.GOMAXPROCS(0), "with -cmd: files scored at a time")
	files := fs.Bool("files", false, "also print each file's standard-profile result")
	name := fs.String("name", "", "the detector's name in the report (default: the command or directory)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if (*command == "") == (*scoresDir == "") || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "nabscore: give exactly one of -cmd \"command\" and -scores DIR")
		return 2
	}
	if *data == "" {
		d, err := nab.CorpusDir()
		if err != nil {
			fmt.Fprintln(stderr, "nabscore:", err)
			return 1
		}
		*data = d
	}
	c, err := nab.LoadCorpus(*data)
	if err != nil {
		fmt.Fprintln(stderr, "nabscore:", err)
		return 1
	}
	var scores map[string][]float64
	if *command != "" {
		scores, err = runCommand(ctx, c, *command, *out, max(*jobs, 1), stderr)
	} else {
		scores, err = readDir(c, *scoresDir)
	}
	if err != nil {
		fmt.Fprintln(stderr, "nabscore:", err)
		return 1
	}
	rs, err := c.ScoreProfiles(scores)
	if err != nil {
		fmt.Fprintln(stderr, "nabscore:", err)
		return 1
	}
	detector := cmp.Or(*name, *command, *scoresDir)
	fmt.Fprintf(stdout, "NAB v1.1: %d files, %d windows, %d rows; detector: %s\n\n", len(c.Files), c.Windows(), c.Rows(), detector)
	fmt.Fprintf(stdout, "%-20s %18s %7s %10s %4s %6s %4s\n", "profile", "threshold", "score", "raw", "TP", "FP", "FN")
	for _, r := range rs {
		fmt.Fprintf(stdout, "%-20s %18.16g %7.2f %10.4f %4d %6d %4d\n", r.Profile.Name, r.Threshold, r.Score, r.Raw, r.TP, r.FP, r.FN)
	}
	fmt.Fprintln(stdout, "\nTP/FN: windows with/without a detection; FP: detected rows outside windows. Null 0, perfect 100.")
	if *files {
		fmt.Fprintln(stdout)
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "file (standard profile)\traw\tTP\tFP\tFN")
		for _, f := range rs[0].Files {
			fmt.Fprintf(tw, "%s\t%.4f\t%d\t%d\t%d\n", f.Name, f.Raw, f.TP, f.FP, f.FN)
		}
		tw.Flush()
	}
	return 0
}

// runCommand pipes every data file of c through command and reads back its scores.
func runCommand(ctx context.Context, c *nab.Corpus, command, out string, jobs int, stderr io.Writer) (map[string][]float64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	scores := make(map[string][]float64, len(c.Files))
	var mu sync.Mutex
	work := make(chan *nab.File)
	var wg sync.WaitGroup
	for range jobs {
		wg.Go(func() {
			for f := range work {
				s, err := runOne(ctx, c, f, command, out, stderr)
				if err != nil {
					cancel(fmt.Errorf("%s: %w", f.Name, err))
					continue
				}
				mu.Lock()
				scores[f.Name] = s
				mu.Unlock()
			}
		})
	}
	for _, f := range c.Files {
		work <- f
	}
	close(work)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return scores, nil
}

func runOne(ctx context.Context, c *nab.Corpus, f *nab.File, command, out string, stderr io.Writer) ([]float64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	in, err := os.Open(filepath.Join(c.Dir, "data", filepath.FromSlash(f.Name)))
	if err != nil {
		return nil, err
	}
	defer in.Close()
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = in, &stdout, stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %w", command, err)
	}
	if out != "" {
		p := filepath.Join(out, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, stdout.Bytes(), 0o644); err != nil {
			return nil, err
		}
	}
	s, err := nab.ReadScores(&stdout)
	if err != nil {
		return nil, fmt.Errorf("output of %s: %w", command, err)
	}
	return s, nil
}

// readDir reads per-file scores from dir: <category>/<file>.csv, else NAB's results naming
// <category>/<detector>_<file>.csv.
func readDir(c *nab.Corpus, dir string) (map[string][]float64, error) {
	scores := make(map[string][]float64, len(c.Files))
	for _, f := range c.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			m, _ := filepath.Glob(filepath.Join(dir, filepath.FromSlash(path.Dir(f.Name)), "*_"+path.Base(f.Name)))
			if len(m) != 1 {
				return nil, fmt.Errorf("no scores for %s: want %s (or one <detector>_%s beside it)", f.Name, p, path.Base(f.Name))
			}
			p = m[0]
		}
		fh, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		s, err := nab.ReadScores(fh)
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		scores[f.Name] = s
	}
	return scores, nil
}
