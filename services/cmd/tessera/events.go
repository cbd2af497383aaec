package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/services/platform/config"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/pg"
	"github.com/tessera-dev/tessera/services/suite"
)

const eventsUsage = `usage: tessera events dead-letters <list|replay|discard> --service NAME [flags] [EVENT-ID...]

Events the broker refused for good (larger than its max_payload, or than the
stream accepts) wait in the service's dead-letter table instead of blocking the
events behind them.

  list      show the parked events (-o table|json)
  replay    move the given events (or --all) back into the outbox; the relay
            publishes them under their own event IDs, or parks them again
  discard   delete the given events (or --all); the audit trail keeps them
`

// eventsCommand runs `tessera events ...` and writes its answer to out.
func eventsCommand(ctx context.Context, args []string, out io.Writer) error {
	if len(args) < 2 || args[0] != "dead-letters" {
		fmt.Fprint(os.Stderr, eventsUsage)
		return flag.ErrHelp
	}
	action := args[1]
	if !slices.Contains([]string{"list", "replay", "discard"}, action) {
		fmt.Fprint(os.Stderr, eventsUsage)
		return fmt.Errorf("events dead-letters: unknown action %q", action)
	}
	fs := flag.NewFlagSet("tessera events dead-letters "+action, flag.ContinueOnError)
	service := fs.String("service", "", "the service whose parked events to act on: "+strings.Join(suite.ServiceNames, ", "))
	databaseURL := fs.String("database-url", "", "Postgres URL (also DATABASE_URL)")
	output := fs.String("o", "table", "list output: table or json")
	all := fs.Bool("all", false, "replay or discard every parked event")
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	if err := config.ApplyEnv(fs); err != nil {
		return err
	}
	if *databaseURL == "" {
		*databaseURL = os.Getenv("DATABASE_URL")
	}
	ids, err := deadLetterTargets(action, *service, *databaseURL, *output, *all, fs.Args())
	if err != nil {
		return err
	}
	pool, err := pg.Connect(ctx, *databaseURL, *service, 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	switch action {
	case "list":
		parked, err := events.ListDeadLetters(ctx, pool)
		if err != nil {
			return err
		}
		return printDeadLetters(out, parked, *output)
	case "replay":
		moved, err := events.ReplayDeadLetters(ctx, pool, ids)
		if err != nil {
			return err
		}
		return printMoved(out, "replayed", moved, ids)
	default:
		gone, err := events.DiscardDeadLetters(ctx, pool, ids)
		if err != nil {
			return err
		}
		return printMoved(out, "discarded", gone, ids)
	}
}

// deadLetterTargets checks the command line and returns the events it names (nil:
// all of them).
func deadLetterTargets(action, service, databaseURL, output string, all bool, args []string) ([]uuid.UUID, error) {
	var problems []string
	if !slices.Contains(suite.ServiceNames, service) {
		problems = append(problems, fmt.Sprintf("--service must be one of %s", strings.Join(suite.ServiceNames, ", ")))
	}
	if databaseURL == "" {
		problems = append(problems, "--database-url (or DATABASE_URL) is required")
	}
	if output != "table" && output != "json" {
		problems = append(problems, "-o must be table or json")
	}
	var ids []uuid.UUID
	for _, a := range args {
		id, err := uuid.Parse(a)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%q is not an event ID", a))
			continue
		}
		ids = append(ids, id)
	}
	switch {
	case action == "list" && (all || len(args) > 0):
		problems = append(problems, "list takes no event IDs")
	case action != "list" && all && len(args) > 0:
		problems = append(problems, "give event IDs or --all, not both")
	case action != "list" && !all && len(args) == 0:
		problems = append(problems, action+" needs event IDs or --all")
	}
	if len(problems) > 0 {
		return nil, errors.New("events dead-letters " + action + ": " + strings.Join(problems, "; "))
	}
	return ids, nil
}

func printDeadLetters(out io.Writer, parked []events.DeadLetter, output string) error {
	if output == "json" {
		if parked == nil {
			parked = []events.DeadLetter{}
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(parked)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "EVENT ID\tSUBJECT\tTENANT\tBYTES\tATTEMPTS\tPARKED\tERROR")
	for _, d := range parked {
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", d.ID, d.Subject, d.TenantID, d.Size, d.Attempts, d.ParkedAt.UTC().Format(time.RFC3339), d.Error)
	}
	return tw.Flush()
}

// printMoved says what was done, and fails when a named event was not parked.
func printMoved(out io.Writer, verb string, done, asked []uuid.UUID) error {
	for _, id := range done {
		_, _ = fmt.Fprintf(out, "%s %s\n", verb, id)
	}
	var missing []string
	for _, id := range asked {
		if !slices.Contains(done, id) {
			missing = append(missing, id.String())
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("not parked: %s", strings.Join(missing, ", "))
	}
	_, _ = fmt.Fprintf(out, "%d event(s) %s\n", len(done), verb)
	return nil
}
