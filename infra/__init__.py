"""What runs underneath BotCopier: the local Kafka broker and its launchers."""
