"""Messaging: the relay (event store → broker), consumer groups, and the transports."""

from chassis.messaging.consumer import ConsumerRunner, Handler, create_consumer_schema
from chassis.messaging.inprocess import InProcessBus
from chassis.messaging.relay import CheckpointStore, Relay
from chassis.messaging.transport import (
    InboundMessage,
    MessageTooLarge,
    OutboundMessage,
    Subscriber,
    Transport,
    dead_letter_topic,
    topic_for,
)

__all__ = [
    "CheckpointStore",
    "ConsumerRunner",
    "Handler",
    "InProcessBus",
    "InboundMessage",
    "MessageTooLarge",
    "OutboundMessage",
    "Relay",
    "Subscriber",
    "Transport",
    "create_consumer_schema",
    "dead_letter_topic",
    "topic_for",
]


def kafka_transport(bootstrap_servers: str, client_id: str = "tandem") -> Transport:
    """The Kafka transport (imported lazily so the embedded demo needs no broker)."""
    from chassis.messaging.kafka import KafkaTransport

    return KafkaTransport(bootstrap_servers, client_id=client_id)
