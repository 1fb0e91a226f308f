"""One module per subcommand: its arguments (`register`) and what it does (`run`)."""
