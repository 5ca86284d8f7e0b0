"""The networks (plain nn.Modules), their losses and the generator's fast paths."""
