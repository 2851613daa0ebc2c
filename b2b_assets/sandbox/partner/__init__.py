"""The seed-000 partner GET API emulator (`api`): organizations, locations and users."""
