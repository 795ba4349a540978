"""Everything that touches the Bot Framework SDK (botbuilder, msrest): handler, adapter, connector, serializer."""
