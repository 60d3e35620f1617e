package config

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// Usage writes the help of `kinesisd -h`: the subcommands, then every flag with its default and its
// KINESISD_* variable.
func Usage(w io.Writer) {
	fmt.Fprint(w, `kinesisd serves the Amazon Kinesis Data Streams API.

Usage:
  kinesisd [flags]                 run the server
  kinesisd bench [flags]           drive a Kinesis endpoint with PutRecords and read everything back
  kinesisd export [flags]          write a store's streams and records to an archive
  kinesisd import [flags]          copy an archive into a store
  kinesisd backup [flags]          copy a running server's store to a directory (online backup)
  kinesisd health [flags]          exit 0 when the server at -endpoint answers healthy
  kinesisd version                 print the version and commit
  kinesisd help                    this text

Each subcommand has -h. Every flag below also reads its environment variable; a flag on the command
line wins over the variable. Write boolean flags as -flag or -flag=false.

Flags:
`)
	var initStreams string
	fs := newFlagSet(&Config{}, &initStreams)
	fs.VisitAll(func(f *flag.Flag) {
		arg, help := flag.UnquoteUsage(f)
		line := "  -" + f.Name
		if arg != "" {
			line += " " + arg
		}
		fmt.Fprintf(w, "%s   (%s)\n", line, EnvName(f.Name))
		help = strings.ReplaceAll(help, "\n", "\n        ")
		fmt.Fprintf(w, "        %s", help)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}
