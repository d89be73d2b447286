"""The bot runtime (docs/dataplane.md "The bot", docs/models.md): it loads the dialogue model
of `spec.bot.model`, answers the customer turns of its track's admitted conversations, admits new
ones as slots free up, and hands conversations to a human when it should.

Pure core: the model format (`model`), its classifier (`classifier`), the handoff decision
(`decision`). Edges: fetching the model (`loader`), asking a remote model (`understanding`),
bot slots and the turn's transaction (`slots`, `turn`), the role (`role`) and its subcommand.
"""
