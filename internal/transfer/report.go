package transfer

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// totals counts the streams, shards and records of a report.
func (r *Report) totals() (streams, shards int, records uint64) {
	for _, s := range r.Streams {
		shards += len(s.Shards)
		records += s.Records
	}
	return len(r.Streams), shards, records
}

// WriteText writes the report for people: a summary line, then one line per shard with its record
// count and first and last sequence numbers (old and new when an import reassigned them).
func (r *Report) WriteText(w io.Writer) error {
	streams, shards, records := r.totals()
	what := fmt.Sprintf("%d streams, %d shards, %d records, %d metadata documents", streams, shards, records, r.MetadataDocuments)
	imported := r.Target != ""
	if imported {
		fmt.Fprintf(w, "imported %s from a %s archive into %s; sequence numbers %s\n", what, r.Source, r.Target, r.SequenceNumbers)
	} else {
		fmt.Fprintf(w, "exported %s from %s\n", what, r.Source)
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "skipped %s: being deleted\n", s)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	reassigned := r.SequenceNumbers == SequencesReassigned
	if reassigned {
		fmt.Fprintln(tw, "ACCOUNT\tREGION\tSTREAM\tSHARD\tRECORDS\tOLD FIRST\tNEW FIRST\tOLD LAST\tNEW LAST")
	} else {
		fmt.Fprintln(tw, "ACCOUNT\tREGION\tSTREAM\tSHARD\tRECORDS\tFIRST\tLAST")
	}
	for _, s := range r.Streams {
		for _, sh := range s.Shards {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t", s.Account, dash(s.Region), s.Name, sh.ShardID, sh.Records)
			if reassigned {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", dash(sh.OldFirst), dash(sh.NewFirst), dash(sh.OldLast), dash(sh.NewLast))
			} else {
				fmt.Fprintf(tw, "%s\t%s\n", dash(sh.OldFirst), dash(sh.OldLast))
			}
		}
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WriteJSON writes the report as one indented JSON document, for scripts.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
