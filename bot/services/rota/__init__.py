"""The rota: facilitators' roster and duties, its timers and its reports."""
