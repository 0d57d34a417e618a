"""Mass-mailing campaigns (SPEC §7): the use cases (service), who receives them (recipients),
and the sending that workers share (sender)."""
