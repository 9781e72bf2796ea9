"""One module per clause family. Each takes facts and parameters and returns
awards with a trace; none reads a database or a clock."""
